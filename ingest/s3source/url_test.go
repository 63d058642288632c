package s3source

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Location
		wantErr bool
	}{
		{name: "bucket only", in: "s3://my-logs", want: Location{Bucket: "my-logs"}},
		{name: "bucket slash", in: "s3://my-logs/", want: Location{Bucket: "my-logs"}},
		{name: "prefix gets slash", in: "s3://my-logs/cf", want: Location{Bucket: "my-logs", Prefix: "cf/"}},
		{name: "nested prefix", in: "s3://my.logs/a/b/", want: Location{Bucket: "my.logs", Prefix: "a/b/"}},
		{name: "wrong scheme", in: "https://my-logs/cf/", wantErr: true},
		{name: "no bucket", in: "s3:///cf/", wantErr: true},
		{name: "upper case bucket", in: "s3://MyLogs/", wantErr: true},
		{name: "short bucket", in: "s3://ab/", wantErr: true},
		{name: "query", in: "s3://my-logs/cf/?x=1", wantErr: true},
		{name: "empty segment", in: "s3://my-logs/a//b/", wantErr: true},
		{name: "bucket ends in dash", in: "s3://my-logs-/", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseURL(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseURL(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if err == nil {
				if back, err := ParseURL(got.String()); err != nil || back != got {
					t.Errorf("ParseURL(%q) = %v, %v; want a round trip of %v", got.String(), back, err, got)
				}
			}
		})
	}
}

func TestTemplatePrefix(t *testing.T) {
	hour := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		tmpl string
		lvl  level
		want string
	}{
		{name: "legacy id", tmpl: builtinTemplates[0], lvl: levelID, want: "E1ABC."},
		{name: "legacy day", tmpl: builtinTemplates[0], lvl: levelDay, want: "E1ABC.2025-09-10-"},
		{name: "legacy hour", tmpl: builtinTemplates[0], lvl: levelHour, want: "E1ABC.2025-09-10-08."},
		{name: "hive id", tmpl: builtinTemplates[1], lvl: levelID, want: "DistributionId=E1ABC/year="},
		{name: "hive day", tmpl: builtinTemplates[1], lvl: levelDay, want: "DistributionId=E1ABC/year=2025/month=09/day=10/hour="},
		{name: "hive hour", tmpl: builtinTemplates[1], lvl: levelHour, want: "DistributionId=E1ABC/year=2025/month=09/day=10/hour=08/"},
		{name: "templated hour", tmpl: builtinTemplates[3], lvl: levelHour, want: "E1ABC/2025/09/10/08/"},
		{name: "time first", tmpl: "{yyyy}/{MM}/{dd}/{HH}/{DistributionId}/", lvl: levelHour, want: "2025/09/10/08/E1ABC/"},
		{name: "time first id level", tmpl: "{yyyy}/{MM}/{dd}/{HH}/{DistributionId}/", lvl: levelID, want: ""},
		{name: "unknown variable stops", tmpl: "{accountid}/{DistributionId}/", lvl: levelHour, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := parseTemplate(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if got := tm.prefix("E1ABC", hour, tt.lvl); got != tt.want {
				t.Errorf("prefix(%q, %v) = %q, want %q", tt.tmpl, tt.lvl, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"{DistributionId", "a/{}/b"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("parseTemplate(%q) succeeded, want an error", bad)
		}
	}
}
