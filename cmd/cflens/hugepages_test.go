package main

import (
	"strings"
	"testing"
)

// TestHugePagesFor: every command but ingest has its heap advised for
// huge pages, whatever flags come before or after the verb.
func TestHugePagesFor(t *testing.T) {
	for _, tc := range []struct {
		args string
		want bool
	}{
		{"ingest logs/*.gz --out ds", false},
		{"ingest --help", false},
		{"analyze --dataset ds --format json", true},
		{"analyze logs/*.gz", true},
		{"windows detect --dataset ds", true},
		{"demo", true},
		{"version", true},
	} {
		if got := hugePagesFor(strings.Fields(tc.args)); got != tc.want {
			t.Errorf("hugePagesFor(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
