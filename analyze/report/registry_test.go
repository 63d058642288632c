package report

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPeriods(t *testing.T) {
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct {
		name     string
		from, to string
		every    time.Duration
		want     []string // period starts and ends
	}{
		{"whole days", "2025-09-10T00:00:00Z", "2025-09-12T00:00:00Z", 24 * time.Hour,
			[]string{"2025-09-10T00:00:00Z/2025-09-11T00:00:00Z", "2025-09-11T00:00:00Z/2025-09-12T00:00:00Z"}},
		{"last period shorter", "2025-09-10T00:00:00Z", "2025-09-10T10:00:00Z", 4 * time.Hour,
			[]string{"2025-09-10T00:00:00Z/2025-09-10T04:00:00Z", "2025-09-10T04:00:00Z/2025-09-10T08:00:00Z", "2025-09-10T08:00:00Z/2025-09-10T10:00:00Z"}},
		{"one period longer than the range", "2025-09-10T00:00:00Z", "2025-09-10T06:00:00Z", 24 * time.Hour,
			[]string{"2025-09-10T00:00:00Z/2025-09-10T06:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Periods(at(tt.from), at(tt.to), tt.every)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.From.Format(time.RFC3339)+"/"+p.To.Format(time.RFC3339))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("periods (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"},
		{90 * time.Second, "1m30s"},
		{time.Hour + time.Second, "1h0m1s"},
		{30 * time.Second, "30s"},
	}
	for _, tt := range tests {
		if got := shortDuration(tt.in); got != tt.want {
			t.Errorf("shortDuration(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatFor(t *testing.T) {
	tests := []struct{ format, out, want string }{
		{"", "", "text"}, {"", "r.md", "markdown"}, {"", "A.JSON", "json"}, {"", "r.htm", "html"},
		{"", "t.csv", "csv"}, {"", "dir", "text"}, {"md", "", "markdown"}, {"HTML", "r.txt", "html"},
	}
	for _, tt := range tests {
		if got, err := FormatFor(tt.format, tt.out); err != nil || got != tt.want {
			t.Errorf("FormatFor(%q, %q) = %q, %v; want %q", tt.format, tt.out, got, err, tt.want)
		}
	}
	if _, err := FormatFor("pdf", ""); err == nil {
		t.Error("FormatFor(pdf) gave no error")
	}
	for _, f := range Formats() {
		if got, err := FormatFor(f, ""); err != nil || got != f {
			t.Errorf("FormatFor(%q) = %q, %v", f, got, err)
		}
	}
}
