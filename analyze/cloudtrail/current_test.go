package cloudtrail

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest/schema"
)

func TestAnchor(t *testing.T) {
	now := mustTime("2025-09-12T00:00:00Z")
	weighted := &analyze.PolicyChange{Enabled: ptr(true), Type: ptr(analyze.PolicyWeighted), Weight: ptr(0.15), Sticky: ptr(true)}
	prodOn := analyze.Change{At: mustTime("2025-09-10T08:00:00Z"), Role: schema.RoleProduction, CustomErrorResponses: ptr(true)}
	tests := []struct {
		name         string
		changes      []analyze.Change
		cur          Current
		since        time.Time
		want         []string
		wantWarnings int
	}{
		{
			name: "empty record: everything from now",
			cur:  Current{At: now, Production: ptr(true), Staging: ptr(false), Policy: weighted},
			want: []string{
				"09-12 00:00 production errors=true",
				"09-12 00:00 staging errors=false",
				"09-12 00:00 production enabled=true type=weighted weight=0.15 sticky=true",
			},
		},
		{
			name:    "unchanged settings from the start of the record",
			changes: []analyze.Change{prodOn},
			cur:     Current{At: now, Production: ptr(true), Staging: ptr(false), Policy: weighted},
			since:   mustTime("2025-09-10T00:00:00Z"),
			want: []string{
				"09-10 00:00 staging errors=false",
				"09-10 00:00 production enabled=true type=weighted weight=0.15 sticky=true",
				"09-10 08:00 production errors=true",
			},
		},
		{
			name:    "since after the first change: from the first change",
			changes: []analyze.Change{prodOn},
			cur:     Current{At: now, Staging: ptr(true)},
			since:   mustTime("2025-09-11T00:00:00Z"),
			want:    []string{"09-10 08:00 staging errors=true", "09-10 08:00 production errors=true"},
		},
		{
			name:         "a difference is set now and reported",
			changes:      []analyze.Change{prodOn, {At: mustTime("2025-09-10T09:00:00Z"), Role: schema.RoleProduction, ContinuousDeployment: weighted}},
			cur:          Current{At: now, Production: ptr(false), Policy: &analyze.PolicyChange{Enabled: ptr(false)}},
			want:         []string{"09-10 08:00 production errors=true", "09-10 09:00 production enabled=true type=weighted weight=0.15 sticky=true", "09-12 00:00 production errors=false", "09-12 00:00 production enabled=false"},
			wantWarnings: 2,
		},
		{
			name:    "nothing to add",
			changes: []analyze.Change{prodOn},
			cur:     Current{At: now, Production: ptr(true)},
			want:    []string{"09-10 08:00 production errors=true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := &analyze.Timeline{Changes: append([]analyze.Change(nil), tt.changes...)}
			warnings := Anchor(tl, tt.cur, tt.since)
			if err := tl.Validate(); err != nil {
				t.Fatalf("anchored timeline invalid: %v", err)
			}
			got := summary(tl)
			// summary prints the clock only; put the day in front.
			for i, c := range tl.Changes {
				got[i] = c.At.Format("01-02 15:04") + got[i][len("15:04:05"):]
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("changes mismatch (-want +got):\n%s", d)
			}
			if len(warnings) != tt.wantWarnings {
				t.Errorf("warnings %q, want %d", warnings, tt.wantWarnings)
			}
		})
	}
}
