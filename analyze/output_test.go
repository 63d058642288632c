package analyze

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"
)

func sampleResult(t *testing.T) *Result {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tl := twoWindows()
	tl.Changes = tl.Changes[1:] // production's custom errors unknown before 08:00
	a := newTestAggregator(t, func(o *Options) { o.Timeline = tl })
	feed(t, a, mem, [][]row{{
		{ts: at(1, 0), dist: "EPROD", status: 404, stem: "/missing", result: "Error"},
		{ts: at(9, 0), dist: "EPROD", status: 500, stem: "/missing", result: "Error"},
		{ts: at(9, 0), dist: "ESTAGE", status: 200, stem: "/", result: "Hit"},
	}})
	return a.Result()
}

func TestWriteJSONContract(t *testing.T) {
	res := sampleResult(t)
	var a, b bytes.Buffer
	if err := WriteJSON(&a, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("two encodings of one result differ")
	}
	var doc map[string]any
	if err := json.Unmarshal(a.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"bucket_seconds", "cells", "distributions", "error_path_rule", "error_paths", "findings", "hours", "input",
		"matrix", "peak_hours", "range", "schema", "series", "settle_seconds", "tests", "timezone", "warnings", "weekdays", "windows"}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("top-level keys (-want +got):\n%s", d)
	}
	if doc["schema"] != "cflens.analysis/v1" {
		t.Errorf("schema = %v", doc["schema"])
	}
	w1 := doc["windows"].([]any)[0].(map[string]any)
	state := w1["state"].(map[string]any)
	if v, ok := state["production"].(map[string]any)["custom_error_responses"]; !ok || v != nil {
		t.Errorf("unknown state encoded as %v (present %v), want null", v, ok)
	}
	if v := state["staging"].(map[string]any)["custom_error_responses"]; v != false {
		t.Errorf("staging custom errors = %v, want false", v)
	}
	cd := state["continuous_deployment"].(map[string]any)
	if d := cmp.Diff(map[string]any{"enabled": true, "type": "weighted", "weight": 0.15, "sticky": false}, cd); d != "" {
		t.Errorf("policy state (-want +got):\n%s", d)
	}
	if w1["from"] != "2025-09-10T00:00:00Z" {
		t.Errorf("window from = %v, want RFC 3339 UTC", w1["from"])
	}
	cell := doc["cells"].([]any)[2].(map[string]any) // window 2, production
	for _, k := range []string{"window", "role", "requests", "error_path_requests", "status", "rate_500", "rate_500_ci95", "result_types_500"} {
		if _, ok := cell[k]; !ok {
			t.Errorf("cell has no %q", k)
		}
	}
	if ci := cell["rate_500_ci95"].([]any); len(ci) != 2 {
		t.Errorf("rate_500_ci95 = %v, want [low, high]", ci)
	}
	hour := doc["hours"].([]any)[0].(map[string]any)
	for _, k := range []string{"role", "hour", "requests", "error_path_requests", "status_500", "staging_share"} {
		if _, ok := hour[k]; !ok {
			t.Errorf("hour has no %q", k)
		}
	}
	for _, k := range []string{"rows", "rejected_lines", "objects"} {
		if _, ok := doc["input"].(map[string]any)[k]; !ok {
			t.Errorf("input has no %q", k)
		}
	}
}
