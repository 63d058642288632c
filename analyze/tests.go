package analyze

import (
	"fmt"
	"strings"
)

// smallGroup is the fewest requests in a group for which a rate says
// something.
const smallGroup = 10

// alpha is the family-wise error rate of the tests: a test whose
// Holm-adjusted p-value is below it is significant.
const alpha = 0.05

// association tests 500 against a grouping: table rows are groups, with
// [500, not 500] counts. Groups without requests are dropped; fewer than
// two groups left give no test. A table with one outcome only has no
// variation and no test statistic: method "none", p-value 1.
func association(name string, groups []string, table [][2]int64) (Test, bool) {
	t := Test{Name: name, Groups: []string{}, Table: [][2]int64{}, Strata: []string{}}
	var small []string
	for i, row := range table {
		if row[0]+row[1] == 0 {
			continue
		}
		t.Groups = append(t.Groups, groups[i])
		t.Table = append(t.Table, row)
		if row[0]+row[1] < smallGroup {
			small = append(small, fmt.Sprintf("%s (%d requests)", groups[i], row[0]+row[1]))
		}
	}
	if len(t.Table) < 2 {
		return t, false
	}
	m := make([][]int64, len(t.Table))
	for i, row := range t.Table {
		m[i] = []int64{row[0], row[1]}
	}
	two := len(t.Table) == 2
	if two {
		d, ci := RiskDifference(m[0][0], m[0][0]+m[0][1], m[1][0], m[1][0]+m[1][1])
		t.RiskDifference, t.RiskDifferenceCI95 = &d, &ci
	}
	cs := ChiSquare(m, two)
	if cs.Cols < 2 {
		t.Method, t.PValue = "none", 1
		t.Warning = "no variation: every request had the same outcome"
		return t, true
	}
	t.Statistic, t.DF, t.PValue = cs.Statistic, cs.DF, cs.PValue
	t.Effect = CramersV(ChiSquare(m, false).Statistic, cs.N, cs.Rows, cs.Cols)
	t.Method = "chi-square"
	if two {
		t.Method = "chi-square (Yates)"
		if cs.MinExpected < 5 {
			t.Method = "fisher-exact"
			t.PValue = FisherExact(m[0][0], m[0][1], m[1][0], m[1][1])
		}
	} else if cs.MinExpected < 5 {
		t.Warning = fmt.Sprintf("expected counts down to %.1f (below 5): the p-value is approximate", cs.MinExpected)
	}
	if len(small) > 0 {
		t.Warning = joinWarn(t.Warning, "too few requests to say anything about "+strings.Join(small, ", "))
	}
	return t, true
}

// stratified tests 500 between two groups within strata (Cochran–
// Mantel–Haenszel); Table holds the pooled counts of the two groups.
// No stratum holding both groups gives no test.
func stratified(name string, groups [2]string, strata []string, tables [][2][2]int64) (Test, bool) {
	t := Test{Name: name, Groups: []string{groups[0], groups[1]}, Table: make([][2]int64, 2), Strata: []string{}}
	var used [][2][2]int64
	for i, s := range tables {
		if s[0][0]+s[0][1] == 0 || s[1][0]+s[1][1] == 0 {
			continue
		}
		t.Strata = append(t.Strata, strata[i])
		used = append(used, s)
		for g := range 2 {
			t.Table[g][0] += s[g][0]
			t.Table[g][1] += s[g][1]
		}
	}
	r := CochranMantelHaenszel(used)
	if r.Informative == 0 {
		return t, false
	}
	d, ci := RiskDifference(t.Table[0][0], t.Table[0][0]+t.Table[0][1], t.Table[1][0], t.Table[1][0]+t.Table[1][1])
	t.RiskDifference, t.RiskDifferenceCI95 = &d, &ci
	if r.NoVariation {
		t.Method, t.PValue = "none", 1
		t.Warning = "no variation: every request had the same outcome"
		return t, true
	}
	t.Method, t.Statistic, t.DF, t.PValue = "cochran-mantel-haenszel", r.Statistic, 1, r.PValue
	t.Effect = CramersV(ChiSquare([][]int64{t.Table[0][:], t.Table[1][:]}, false).Statistic, t.Table[0][0]+t.Table[0][1]+t.Table[1][0]+t.Table[1][1], 2, 2)
	for g := range 2 {
		if n := t.Table[g][0] + t.Table[g][1]; n < smallGroup {
			t.Warning = joinWarn(t.Warning, fmt.Sprintf("too few requests to say anything about %s (%d requests)", groups[g], n))
		}
	}
	return t, true
}

func joinWarn(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func row500(c groupCounts) [2]int64 { return [2]int64{c.err.s500, c.err.req - c.err.s500} }

// Names of the tests, shared with the findings they support.
func windowTestName(role string) string {
	return fmt.Sprintf("500 vs window (%s, error paths, outside peak hours)", role)
}

func roleWindowTestName(id int) string {
	return fmt.Sprintf("500 vs role (window %d, error paths, outside peak hours)", id)
}

func pathClassTestName(role string) string { return fmt.Sprintf("500 vs path class (%s)", role) }

func peakTestName(role string) string {
	return fmt.Sprintf("500 vs peak hours (%s, error paths, policy enabled)", role)
}

func settingTestName(role, setting string) string {
	other := otherRole(setting)
	return fmt.Sprintf("500 vs custom errors of %s (%s error paths, within each setting of %s, policy enabled, outside peak hours)", setting, role, other)
}

func eitherTestName() string {
	return "500 vs custom errors on either distribution (both roles, error paths, policy enabled, outside peak hours)"
}

func roleStateTestName(st matrixState) string {
	return fmt.Sprintf("500 vs role (custom errors %s, error paths, policy enabled, outside peak hours)", st.label())
}

func otherRole(role string) string {
	if role == roleNames[roleProd] {
		return roleNames[roleStaging]
	}
	return roleNames[roleProd]
}

// matrixCounts returns a matrix cell's counts as a [500, not 500] row.
func matrixCounts(res *Result, st matrixState, role string) (row [2]int64, observed bool) {
	for _, c := range res.Matrix.Cells {
		if c.ProductionCustomErrors == st.prod && c.StagingCustomErrors == st.stg && c.Role == role {
			return [2]int64{c.ErrorPath500, c.ErrorPathRequests - c.ErrorPath500}, c.Observed
		}
	}
	return row, false
}

// buildTests runs the family of tests and adjusts their p-values
// together (Holm–Bonferroni). Comparisons between windows, roles and
// configurations leave out the peak hours, in which the policy's routing
// did not apply.
func (a *analysis) buildTests(res *Result) {
	roles := []string{roleNames[roleProd], roleNames[roleStaging]}
	add := func(t Test, ok bool) {
		if ok {
			res.Tests = append(res.Tests, t)
		}
	}
	// 500 vs window, per role.
	for r := roleProd; r < numRoles; r++ {
		var groups []string
		var table [][2]int64
		for wi, w := range res.Windows {
			groups = append(groups, fmt.Sprintf("window %d", w.ID))
			table = append(table, row500(a.outsideCounts(wi, r)))
		}
		add(association(windowTestName(roleNames[r]), groups, table))
	}
	// Production vs staging, per window.
	for wi, w := range res.Windows {
		add(association(roleWindowTestName(w.ID), roles, [][2]int64{row500(a.outsideCounts(wi, roleProd)), row500(a.outsideCounts(wi, roleStaging))}))
	}
	// The matrix: each role's 500s against each distribution's setting,
	// within each setting of the other; either setting on against both
	// off; and the roles against each other in each configuration.
	for _, role := range roles {
		for _, setting := range roles {
			var tables [][2][2]int64
			var strata []string
			for _, otherOn := range []bool{false, true} {
				var s [2][2]int64
				for gi, on := range []bool{true, false} {
					st := matrixState{prod: on, stg: otherOn}
					if setting == roleNames[roleStaging] {
						st = matrixState{prod: otherOn, stg: on}
					}
					s[gi], _ = matrixCounts(res, st, role)
				}
				tables = append(tables, s)
				strata = append(strata, fmt.Sprintf("%s %s", otherRole(setting), onOffWord(otherOn)))
			}
			add(stratified(settingTestName(role, setting), [2]string{setting + " on", setting + " off"}, strata, tables))
		}
	}
	var either [2][2]int64
	for _, st := range matrixStates {
		g := 0
		if !st.prod && !st.stg {
			g = 1
		}
		for _, role := range roles {
			row, _ := matrixCounts(res, st, role)
			either[g][0] += row[0]
			either[g][1] += row[1]
		}
	}
	add(association(eitherTestName(), []string{"on at least one", "off on both"}, either[:]))
	for _, st := range matrixStates {
		p, _ := matrixCounts(res, st, roles[0])
		s, _ := matrixCounts(res, st, roles[1])
		add(association(roleStateTestName(st), roles, [][2]int64{p, s}))
	}
	// Error paths vs good paths, per role.
	for _, role := range roles {
		var ep, e500, gp, g500 int64
		for _, c := range res.Cells {
			if c.Role == role {
				ep, e500 = ep+c.ErrorPathRequests, e500+c.ErrorPath500
				gp, g500 = gp+c.GoodPathRequests, g500+c.GoodPath500
			}
		}
		add(association(pathClassTestName(role), []string{"error paths", "good paths"}, [][2]int64{{e500, ep - e500}, {g500, gp - g500}}))
	}
	// Inside vs outside peak hours, per role.
	if len(res.PeakHours.Hours) > 0 {
		for i, in := range res.PeakHours.Inside {
			out := res.PeakHours.Outside[i]
			add(association(peakTestName(in.Role), []string{"peak hours", "other hours"},
				[][2]int64{{in.ErrorPath500, in.ErrorPathRequests - in.ErrorPath500}, {out.ErrorPath500, out.ErrorPathRequests - out.ErrorPath500}}))
		}
	}
	adjust(res.Tests)
}

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// adjust sets the Holm-adjusted p-values of the tests that have one.
func adjust(ts []Test) {
	var ps []float64
	var idx []int
	for i, t := range ts {
		if t.Method != "none" {
			ps = append(ps, t.PValue)
			idx = append(idx, i)
		}
	}
	for j, p := range Holm(ps) {
		t := &ts[idx[j]]
		t.PAdjusted = &p
		t.Significant = p < alpha
	}
}
