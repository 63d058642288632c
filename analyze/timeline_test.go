package analyze

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const goodTimeline = `# custom errors on production, then staging; policy weighted 15%
distributions: {production: E1EXAMPLE, staging: E2EXAMPLE}
changes:
  - at: 2025-09-10T08:00:00Z
    role: production
    custom_error_responses: true
  - at: 2025-09-10T08:00:00Z
    continuous_deployment: {enabled: true, type: weighted, weight: 0.15, sticky: false}
  - at: 2025-09-10T12:00:00Z
    role: staging
    custom_error_responses: on
    note: second step
  - at: 2025-09-10T16:00:00Z
    role: production
    custom_error_responses: false
`

func ptr[T any](v T) *T { return &v }

func TestParseTimeline(t *testing.T) {
	tl, err := ParseTimeline([]byte(goodTimeline), "timeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return time.Date(2025, 9, 10, h, 0, 0, 0, time.UTC) }
	want := &Timeline{
		Distributions: Distributions{Production: "E1EXAMPLE", Staging: "E2EXAMPLE"},
		Changes: []Change{
			{At: at(8), Role: "production", CustomErrorResponses: ptr(true), Line: 4},
			{At: at(8), ContinuousDeployment: &PolicyChange{Enabled: ptr(true), Type: ptr("weighted"), Weight: ptr(0.15), Sticky: ptr(false)}, Line: 7},
			{At: at(12), Role: "staging", CustomErrorResponses: ptr(true), Note: "second step", Line: 9},
			{At: at(16), Role: "production", CustomErrorResponses: ptr(false), Line: 13},
		},
	}
	if d := cmp.Diff(want, tl); d != "" {
		t.Errorf("timeline (-want +got):\n%s", d)
	}
}

func TestParseTimelineErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown role", "changes:\n  - at: 2025-09-10T08:00:00Z\n    role: prod\n    custom_error_responses: true\n",
			`t.yaml:3: unknown role "prod"`},
		{"unknown setting", "changes:\n  - at: 2025-09-10T08:00:00Z\n    role: production\n    custom_errors: true\n",
			`t.yaml:4: unknown setting "custom_errors"`},
		{"out of order", "changes:\n  - at: 2025-09-10T09:00:00Z\n    role: production\n    custom_error_responses: true\n  - at: 2025-09-10T08:00:00Z\n    role: staging\n    custom_error_responses: true\n",
			`t.yaml:5: changes out of order: 2025-09-10T08:00:00Z is before the previous change at 2025-09-10T09:00:00Z (line 2)`},
		{"contradiction at one instant", "changes:\n  - at: 2025-09-10T08:00:00Z\n    role: production\n    custom_error_responses: true\n  - at: 2025-09-10T08:00:00Z\n    role: production\n    custom_error_responses: false\n",
			`t.yaml:5: overlapping changes at 2025-09-10T08:00:00Z: production.custom_error_responses set to false here and to true before (line 2)`},
		{"weight out of range", "changes:\n  - at: 2025-09-10T08:00:00Z\n    continuous_deployment:\n      weight: 1.5\n",
			`t.yaml:4: weight 1.5 out of [0, 1]`},
		{"weight not a number", "changes:\n  - at: 2025-09-10T08:00:00Z\n    continuous_deployment: {weight: lots}\n",
			`t.yaml:3: weight must be a number`},
		{"bad policy type", "changes:\n  - at: 2025-09-10T08:00:00Z\n    continuous_deployment: {type: random}\n",
			`t.yaml:3: unknown policy type "random"`},
		{"unknown policy setting", "changes:\n  - at: 2025-09-10T08:00:00Z\n    continuous_deployment: {weigth: 0.1}\n",
			`t.yaml:3: unknown continuous_deployment setting "weigth"`},
		{"bad time", "changes:\n  - at: yesterday\n    role: staging\n    custom_error_responses: true\n",
			`t.yaml:2: bad time "yesterday"`},
		{"missing role", "changes:\n  - at: 2025-09-10T08:00:00Z\n    custom_error_responses: true\n",
			`t.yaml:2: custom_error_responses without role`},
		{"no setting", "changes:\n  - at: 2025-09-10T08:00:00Z\n    role: staging\n",
			`t.yaml:2: change without a setting`},
		{"bad bool", "changes:\n  - at: 2025-09-10T08:00:00Z\n    role: staging\n    custom_error_responses: maybe\n",
			`t.yaml:4: custom_error_responses must be true or false`},
		{"unknown distribution role", "distributions: {prod: E1}\nchanges: []\n",
			`t.yaml:1: unknown role "prod"`},
		{"unknown top-level key", "change:\n  - at: 2025-09-10T08:00:00Z\n",
			`t.yaml:1: unknown key "change"`},
		{"not yaml", "changes: [\n", `t.yaml: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTimeline([]byte(tt.yaml), "t.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestTimelineYAMLRoundTrip(t *testing.T) {
	tl, err := ParseTimeline([]byte(goodTimeline), "timeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tl.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ParseTimeline(buf.Bytes(), "out.yaml")
	if err != nil {
		t.Fatalf("reading back:\n%s\n%v", buf.String(), err)
	}
	if d := cmp.Diff(tl, back, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Line" }, cmp.Ignore())); d != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", d, buf.String())
	}
	if !strings.Contains(buf.String(), "continuous_deployment: {enabled: true, type: weighted, weight: 0.15, sticky: false}") {
		t.Errorf("policy not written in flow style:\n%s", buf.String())
	}
}

func TestWindows(t *testing.T) {
	tl, err := ParseTimeline([]byte(goodTimeline), "timeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return time.Date(2025, 9, 10, h, 0, 0, 0, time.UTC) }
	policy := PolicyState{Enabled: ptr(true), Type: ptr("weighted"), Weight: ptr(0.15), Sticky: ptr(false)}
	tests := []struct {
		name     string
		from, to time.Time
		settle   time.Duration
		want     []Window
	}{
		{
			name: "whole day", from: at(0), to: at(24), settle: 2 * time.Minute,
			want: []Window{
				{ID: 1, From: at(0), To: at(8), SettleUntil: at(0)},
				{ID: 2, From: at(8), To: at(12), SettleUntil: at(8).Add(2 * time.Minute),
					State: State{Production: DistributionState{ptr(true)}, ContinuousDeployment: policy}},
				{ID: 3, From: at(12), To: at(16), SettleUntil: at(12).Add(2 * time.Minute),
					State: State{Production: DistributionState{ptr(true)}, Staging: DistributionState{ptr(true)}, ContinuousDeployment: policy}},
				{ID: 4, From: at(16), To: at(24), SettleUntil: at(16).Add(2 * time.Minute),
					State: State{Production: DistributionState{ptr(false)}, Staging: DistributionState{ptr(true)}, ContinuousDeployment: policy}},
			},
		},
		{
			name: "starting one minute after a change", from: at(12).Add(time.Minute), to: at(14), settle: 2 * time.Minute,
			want: []Window{
				{ID: 1, From: at(12).Add(time.Minute), To: at(14), SettleUntil: at(12).Add(2 * time.Minute),
					State: State{Production: DistributionState{ptr(true)}, Staging: DistributionState{ptr(true)}, ContinuousDeployment: policy}},
			},
		},
		{
			name: "unbounded", settle: 0,
			want: []Window{
				{ID: 1, To: at(8)},
				{ID: 2, From: at(8), To: at(12), SettleUntil: at(8),
					State: State{Production: DistributionState{ptr(true)}, ContinuousDeployment: policy}},
				{ID: 3, From: at(12), To: at(16), SettleUntil: at(12),
					State: State{Production: DistributionState{ptr(true)}, Staging: DistributionState{ptr(true)}, ContinuousDeployment: policy}},
				{ID: 4, From: at(16), SettleUntil: at(16),
					State: State{Production: DistributionState{ptr(false)}, Staging: DistributionState{ptr(true)}, ContinuousDeployment: policy}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Windows(tl, tt.from, tt.to, tt.settle)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Label" }, cmp.Ignore())); d != "" {
				t.Errorf("windows (-want +got):\n%s", d)
			}
		})
	}
}

func TestWindowsMergeNoOpChange(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2025, 9, 10, h, 0, 0, 0, time.UTC) }
	tl := &Timeline{Changes: []Change{
		{At: at(1), Role: "production", CustomErrorResponses: ptr(true)},
		{At: at(2), Role: "production", CustomErrorResponses: ptr(true)}, // same value again
		{At: at(3), Role: "production", CustomErrorResponses: ptr(false)},
	}}
	ws, err := Windows(tl, at(0), at(4), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.From.Format("15")+"-"+w.To.Format("15")+" "+w.Label)
	}
	want := []string{
		"00-01 custom errors prod ?, staging ?; policy ?",
		"01-03 custom errors prod on, staging ?; policy ?",
		"03-04 custom errors prod off, staging ?; policy ?",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("windows (-want +got):\n%s", d)
	}
}

// FuzzParseTimeline: any input either fails with a TimelineError or gives
// a timeline that survives a round trip through WriteYAML.
func FuzzParseTimeline(f *testing.F) {
	f.Add([]byte(goodTimeline))
	f.Add([]byte("changes:\n  - at: 2025-09-10T08:00:00Z\n    continuous_deployment: false\n"))
	f.Add([]byte("changes: []\n"))
	f.Add([]byte("distributions: {production: E1}\nchanges:\n  - {at: 2025-09-10T08:00:00Z, role: staging, custom_error_responses: no}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := ParseTimeline(data, "f.yaml")
		if err != nil {
			var te *TimelineError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not a TimelineError", err, err)
			}
			return
		}
		var buf bytes.Buffer
		if err := tl.WriteYAML(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseTimeline(buf.Bytes(), "out.yaml"); err != nil {
			t.Fatalf("written timeline does not read back: %v\n%s", err, buf.String())
		}
		if _, err := Windows(tl, time.Time{}, time.Time{}, time.Minute); err != nil {
			t.Fatal(err)
		}
	})
}
