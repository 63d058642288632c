package s3source

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustTemplate(t *testing.T, s string) template {
	t.Helper()
	tmpl, err := parseTemplate(s)
	if err != nil {
		t.Fatalf("parseTemplate(%q): %v", s, err)
	}
	return tmpl
}

func TestTemplatePrefixLevels(t *testing.T) {
	hour := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		tmpl string
		lvl  level
		want string
	}{
		{name: "legacy id", tmpl: builtinTemplates[0], lvl: levelID, want: "E1."},
		{name: "legacy day", tmpl: builtinTemplates[0], lvl: levelDay, want: "E1.2025-09-10-"},
		{name: "legacy hour", tmpl: builtinTemplates[0], lvl: levelHour, want: "E1.2025-09-10-08."},
		{name: "hive id", tmpl: builtinTemplates[1], lvl: levelID, want: "DistributionId=E1/year="},
		{name: "hive year", tmpl: builtinTemplates[1], lvl: levelYear, want: "DistributionId=E1/year=2025/month="},
		{name: "hive day", tmpl: builtinTemplates[1], lvl: levelDay, want: "DistributionId=E1/year=2025/month=09/day=10/hour="},
		{name: "hive hour", tmpl: builtinTemplates[1], lvl: levelHour, want: "DistributionId=E1/year=2025/month=09/day=10/hour=08/"},
		{name: "templated hour", tmpl: builtinTemplates[3], lvl: levelHour, want: "E1/2025/09/10/08/"},
		{name: "no id year", tmpl: timeTemplates[0], lvl: levelYear, want: "2025/"},
		{name: "stops at unknown variable", tmpl: "{DistributionId}/{AccountId}/{yyyy}/", lvl: levelHour, want: "E1/"},
		{name: "hour before day", tmpl: "{DistributionId}/{HH}/{yyyy}-{MM}-{dd}/", lvl: levelDay, want: "E1/"},
		{name: "time first", tmpl: "{yyyy}/{MM}/{dd}/{HH}/{DistributionId}/", lvl: levelHour, want: "2025/09/10/08/E1/"},
		{name: "time first id level", tmpl: "{yyyy}/{MM}/{dd}/{HH}/{DistributionId}/", lvl: levelID, want: ""},
		{name: "unknown variable first", tmpl: "{accountid}/{DistributionId}/", lvl: levelHour, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustTemplate(t, tt.tmpl).prefix("E1", hour, tt.lvl)
			if got != tt.want {
				t.Errorf("prefix = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, bad := range []string{"{DistributionId", "a/{}/b"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("parseTemplate(%q) succeeded, want an error", bad)
		}
	}
}

func TestTemplateMatch(t *testing.T) {
	hour := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		tmpl     string
		key      string
		wantID   string
		wantHour time.Time
		wantOK   bool
	}{
		{name: "legacy", tmpl: builtinTemplates[0], key: "E2ABC.2025-09-10-08.a1b2c3d4.gz", wantID: "E2ABC", wantHour: hour, wantOK: true},
		{name: "legacy bad month", tmpl: builtinTemplates[0], key: "E2ABC.2025-13-10-08.a1.gz"},
		{name: "hive", tmpl: builtinTemplates[1], key: "DistributionId=E2/year=2025/month=09/day=10/hour=08/x.gz", wantID: "E2", wantHour: hour, wantOK: true},
		{name: "hive lower case is its own layout", tmpl: builtinTemplates[1], key: "distributionid=E2/year=2025/month=09/day=10/hour=08/x.gz"},
		{name: "templated", tmpl: builtinTemplates[3], key: "E2/2025/09/10/08/E2.x.gz", wantID: "E2", wantHour: hour, wantOK: true},
		{name: "templated is not legacy", tmpl: builtinTemplates[3], key: "E2.2025-09-10-08.x.gz"},
		{name: "no id", tmpl: timeTemplates[0], key: "2025/09/10/08/part-0.gz", wantHour: hour, wantOK: true},
		{name: "no hour variable", tmpl: "{DistributionId}/{yyyy}/{MM}/{dd}/", key: "E2/2025/09/10/x.gz", wantID: "E2", wantOK: true},
		{name: "custom variable", tmpl: "{DistributionId}/{AccountId}/{yyyy}/{MM}/{dd}/{HH}/", key: "E2/123456789012/2025/09/10/08/x.gz",
			wantID: "E2", wantHour: hour, wantOK: true},
		{name: "dot is literal", tmpl: "{DistributionId}.{yyyy}-{MM}-{dd}-{HH}.", key: "E2x2025-09-10-08.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, h, ok := mustTemplate(t, tt.tmpl).match(tt.key)
			if ok != tt.wantOK || id != tt.wantID || !h.Equal(tt.wantHour) {
				t.Errorf("match(%q) = %q, %v, %v; want %q, %v, %v", tt.key, id, h, ok, tt.wantID, tt.wantHour, tt.wantOK)
			}
		})
	}
}

func TestTemplatePrefixes(t *testing.T) {
	h := func(day, hour int) time.Time { return time.Date(2025, 9, day, hour, 0, 0, 0, time.UTC) }
	legacy := builtinTemplates[0]
	tests := []struct {
		name   string
		tmpl   string
		lo, hi time.Time
		want   []string
	}{
		{name: "unbounded", tmpl: legacy, want: []string{"E1."}},
		{name: "open end", tmpl: legacy, lo: h(10, 4), want: []string{"E1."}},
		{name: "one hour", tmpl: legacy, lo: h(10, 4), hi: h(10, 4), want: []string{"E1.2025-09-10-04."}},
		{name: "ragged ends and a whole day", tmpl: legacy, lo: h(9, 22), hi: h(11, 1), want: []string{
			"E1.2025-09-09-22.", "E1.2025-09-09-23.", "E1.2025-09-10-", "E1.2025-09-11-00.", "E1.2025-09-11-01.",
		}},
		{name: "whole day exactly", tmpl: legacy, lo: h(10, 0), hi: h(10, 23), want: []string{"E1.2025-09-10-"}},
		{name: "empty window", tmpl: legacy, lo: h(10, 5), hi: h(10, 4), want: nil},
		{name: "hour before day", tmpl: "{DistributionId}/{HH}/{yyyy}-{MM}-{dd}/", lo: h(10, 4), hi: h(10, 5), want: []string{
			"E1/04/2025-09-10/", "E1/05/2025-09-10/",
		}},
		{name: "covered prefixes dropped", tmpl: "{DistributionId}/{HH}/{yyyy}-{MM}-{dd}/", lo: h(9, 23), hi: h(11, 0), want: []string{"E1/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustTemplate(t, tt.tmpl).prefixes("E1", tt.lo, tt.hi)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("prefixes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHourWindow(t *testing.T) {
	s, err := New(nil, Location{Bucket: "b"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour, min int) time.Time { return time.Date(2025, 9, day, hour, min, 0, 0, time.UTC) }
	tests := []struct {
		name           string
		from, to       time.Time
		wantLo, wantHi time.Time
	}{
		{name: "unbounded"},
		{name: "whole hours", from: at(10, 5, 0), to: at(10, 7, 0), wantLo: at(10, 4, 0), wantHi: at(11, 6, 0)},
		{name: "within hours", from: at(10, 5, 30), to: at(10, 7, 10), wantLo: at(10, 4, 0), wantHi: at(11, 7, 0)},
		{name: "open end", from: at(10, 5, 0), wantLo: at(10, 4, 0)},
		{name: "other zone", from: time.Date(2025, 9, 10, 7, 0, 0, 0, time.FixedZone("CEST", 2*3600)), wantLo: at(10, 4, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := s.hourWindow(tt.from, tt.to)
			if !lo.Equal(tt.wantLo) || !hi.Equal(tt.wantHi) || lo.Location() != time.UTC && !lo.IsZero() {
				t.Errorf("hourWindow = %v, %v; want %v, %v (UTC)", lo, hi, tt.wantLo, tt.wantHi)
			}
		})
	}
}

func TestUncovered(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{name: "empty"},
		{name: "distinct", in: []string{"b/", "a/"}, want: []string{"b/", "a/"}},
		{name: "duplicates", in: []string{"a/", "b/", "a/"}, want: []string{"a/", "b/"}},
		{name: "covered after", in: []string{"logs/", "logs/E1.", "x/"}, want: []string{"logs/", "x/"}},
		{name: "covered before", in: []string{"logs/E1.", "logs/E2/", "logs/"}, want: []string{"logs/"}},
		{name: "run ends", in: []string{"a/b", "a/", "a0", "a/c"}, want: []string{"a/", "a0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, uncovered(tt.in)); diff != "" {
				t.Errorf("uncovered(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
