package analyze

import (
	"strings"
	"testing"
)

// TestTalliesFromRowsChecks feeds TalliesFromRows rows as Athena gives
// them: a header row is skipped, and a malformed row is an error naming
// the query and the row.
func TestTalliesFromRowsChecks(t *testing.T) {
	plan, err := NewPlan(Options{Timeline: twoWindows()})
	if err != nil {
		t.Fatal(err)
	}
	good := func() map[string][][]string {
		return map[string][][]string{
			"tally_input": {TallyQueries()["tally_input"], {"3", "1", "0", "2", "1757462400000", "1757466000000"}},
			"tally_fine": {
				{"1", "production", "488184", "5857", "2", "1", "1", "1", "1", "0", "1", "1"},
				{"1", "staging", "488184", "5857", "1", "0", "0", "0", "", "", "", ""},
			},
			"tally_cells": {{"1", "production", "500", "Error", "Error", "OriginCommError", "1"}, {"1", "production", "404", "", "", "", "1"}},
			"tally_paths": {{"summary", "", "2", "1", "1", "1"}, {"top", "/gone", "", "", "1", "1"}},
		}
	}
	tl, err := TalliesFromRows(plan, good())
	if err != nil {
		t.Fatal(err)
	}
	v := tl.view()
	if v.Rows != 3 || v.OutOfRange != 1 || v.Unknown != 2 || len(v.Fine) != 2 || len(v.ErrFine) != 1 ||
		v.ErrStems != 1 || len(v.Top) != 1 || v.Top[0].Stem != "/gone" || v.Status["1/1/500"] != 1 || v.ResultTypes["1/1/2/OriginCommError"] != 1 {
		t.Errorf("tallies %+v", v)
	}
	for _, tc := range []struct {
		name  string
		spoil func(map[string][][]string)
		want  string
	}{
		{"missing query", func(m map[string][][]string) { delete(m, "tally_cells") }, "no result of query tally_cells"},
		{"short row", func(m map[string][][]string) { m["tally_fine"][1] = m["tally_fine"][1][:5] }, "query tally_fine row 2: 5 cells, want 12"},
		{"not a number", func(m map[string][][]string) { m["tally_input"][1][0] = "3.5" }, `query tally_input row 1: analyzed "3.5": not an integer`},
		{"unknown role", func(m map[string][][]string) { m["tally_cells"][0][1] = "canary" }, `role "canary"`},
		{"window out of range", func(m map[string][][]string) { m["tally_fine"][0][0] = "7" }, `window "7": not one of the plan's`},
		{"status slot", func(m map[string][][]string) { m["tally_cells"][0][2] = "999" }, "status slot 999"},
		{"unknown kind", func(m map[string][][]string) { m["tally_paths"][1][0] = "bottom" }, `kind "bottom"`},
	} {
		m := good()
		tc.spoil(m)
		if _, err := TalliesFromRows(plan, m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
