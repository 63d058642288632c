package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Finding tiers: findings are ranked by what they tell, then by the
// number of requests behind them. A test with a small-sample warning
// ranks below every other finding.
// The patterns of the matrix come first (under which configuration),
// then where (the paths) and when (the peak hours), then the other
// differences.
const (
	tierSmallTest = iota + 1
	tierTest
	tierNoDifference
	tierCell
	tierDifference
	tierHidden
	tierPeak
	tierPaths
	tierPattern
)

type rankedFinding struct {
	tier   int
	weight float64
	f      Finding
	// tests are the tests the finding restates; each is grouped under
	// the best-ranked finding that names it.
	tests []string
}

// findings collects the findings of a result and the tests they support.
type findings struct {
	res      *Result
	list     []rankedFinding
	grouped  map[string]bool
	testByID map[string]*Test
}

func (fs *findings) add(tier int, weight float64, kind, statement string, ev map[string]float64, tests ...string) {
	fs.list = append(fs.list, rankedFinding{tier, weight, Finding{Kind: kind, Statement: statement, Evidence: ev, Tests: []string{}}, tests})
}

func (fs *findings) sort() {
	slices.SortStableFunc(fs.list, func(x, y rankedFinding) int {
		if c := cmp.Compare(y.tier, x.tier); c != 0 {
			return c
		}
		return cmp.Compare(y.weight, x.weight)
	})
}

// group gives each restated test to the best-ranked finding that names
// it.
func (fs *findings) group() {
	for i := range fs.list {
		f := &fs.list[i]
		for _, n := range f.tests {
			if fs.testByID[n] != nil && !fs.grouped[n] {
				fs.grouped[n] = true
				f.f.Tests = append(f.f.Tests, n)
			}
		}
	}
}

func (fs *findings) test(name string) *Test { return fs.testByID[name] }

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func ciText(ci [2]float64) string { return pct(ci[0]) + "–" + pct(ci[1]) }

// rateText is "12.5% (11.3–13.9%) of 2000".
func rateText(x, n int64) string {
	ci := Wilson(x, n, z95)
	return fmt.Sprintf("%s (%s) of %d", pct(Rate(x, n)), strings.TrimSuffix(pct(ci[0]), "%")+"–"+pct(ci[1]), n)
}

func pText(p float64) string {
	if p < 1e-4 {
		return "p < 0.0001"
	}
	return "p = " + strconv.FormatFloat(p, 'g', 2, 64)
}

func adjText(t *Test) string {
	if t.PAdjusted == nil {
		return "no variation"
	}
	return "adjusted " + pText(*t.PAdjusted)
}

// buildFindings states what the numbers show, each statement backed by
// the tests it names, ranked by evidence.
func (a *analysis) buildFindings(res *Result) {
	fs := &findings{res: res, grouped: map[string]bool{}, testByID: map[string]*Test{}}
	for i := range res.Tests {
		fs.testByID[res.Tests[i].Name] = &res.Tests[i]
	}
	fs.matrixPatterns()
	fs.eitherSetting()
	fs.roleDifferences()
	fs.paths()
	fs.peakHours()
	fs.hiddenErrors()
	a.cellFindings(fs)
	fs.sort()
	fs.group()
	fs.remainingTests()
	fs.sort()
	fs.group()
	res.Findings = make([]Finding, len(fs.list))
	for i, s := range fs.list {
		s.f.Rank = i + 1
		res.Findings[i] = s.f
	}
}

// pooled sums a role's matrix cells over the configurations that match.
func pooled(res *Result, role string, match func(matrixState) bool) (x, n int64, windows []int) {
	for _, c := range res.Matrix.Cells {
		st := matrixState{c.ProductionCustomErrors, c.StagingCustomErrors}
		if c.Role == role && c.Observed && match(st) {
			x, n = x+c.ErrorPath500, n+c.ErrorPathRequests
			if c.ErrorPath500 > 0 {
				windows = append(windows, c.Windows...)
			}
		}
	}
	slices.Sort(windows)
	return x, n, windows
}

// windowsText names windows and their periods: "windows 2 and 4,
// 2025-09-11 00:00Z – 2025-09-12 00:00Z and …"; adjacent windows are
// one period.
func windowsText(res *Result, ids []int) string {
	if len(ids) == 0 {
		return ""
	}
	var names []string
	for _, id := range ids {
		names = append(names, strconv.Itoa(id))
	}
	var periods []string
	var from, to time.Time
	flush := func() {
		if !from.IsZero() {
			periods = append(periods, timeText(from)+" – "+timeText(to))
		}
	}
	for _, id := range ids {
		if id < 1 || id > len(res.Windows) {
			continue
		}
		w := res.Windows[id-1]
		if !from.IsZero() && w.From.Equal(to) {
			to = w.To
			continue
		}
		flush()
		from, to = w.From, w.To
	}
	flush()
	word := "window "
	if len(ids) > 1 {
		word = "windows "
	}
	return word + joinAnd(names) + ", " + joinAnd(periods)
}

func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func setting(st matrixState, role string) bool {
	if role == roleNames[roleStaging] {
		return st.stg
	}
	return st.prod
}

// matrixPatterns states, per role and per distribution's setting, what
// the stratified test of the matrix shows.
func (fs *findings) matrixPatterns() {
	res := fs.res
	roles := []string{roleNames[roleProd], roleNames[roleStaging]}
	observed := 0
	apart := false
	for _, st := range matrixStates {
		if _, ok := matrixCounts(res, st, roles[0]); ok {
			observed++
			apart = apart || st.prod != st.stg
		}
	}
	if observed >= 2 && !apart {
		fs.add(tierPattern, 0, "matrix_confounded", "While the policy was enabled, the custom error responses of production and staging were only ever on together or off together: the data cannot tell which distribution's setting the 500s follow.",
			map[string]float64{"configurations_observed": float64(observed)})
	}
	for _, role := range roles {
		for _, set := range roles {
			t := fs.test(settingTestName(role, set))
			if t == nil || !t.Significant {
				continue
			}
			on500, onN, onW := pooled(res, role, func(st matrixState) bool { return setting(st, set) })
			off500, offN, _ := pooled(res, role, func(st matrixState) bool { return !setting(st, set) })
			whose := "its own setting"
			if set != role {
				whose = "the other distribution's setting"
			}
			ev := map[string]float64{"on_error_path_requests": float64(onN), "on_error_path_500": float64(on500),
				"off_error_path_requests": float64(offN), "off_error_path_500": float64(off500), "p_adjusted": *t.PAdjusted}
			tests := []string{t.Name, windowTestName(role)}
			if off500 == 0 && on500 > 0 && offN >= smallGroup {
				fs.add(tierPattern, float64(onN+offN), "pattern", fmt.Sprintf("%s's error-path requests got 500 only while %s had custom error responses on (%s): %s, against none of %d with them off (%s, within each setting of %s; %s).",
					role, set, whose, rateText(on500, onN), offN, windowsText(res, onW), otherRole(set), adjText(t)), ev, tests...)
				continue
			}
			// A difference that is not all-or-nothing is stated where the
			// stratified test saw it: per setting of the other distribution.
			other := otherRole(set)
			var strata []string
			var diff float64
			for _, otherOn := range []bool{true, false} {
				st := func(on bool) matrixState {
					if set == roleNames[roleStaging] {
						return matrixState{prod: otherOn, stg: on}
					}
					return matrixState{prod: on, stg: otherOn}
				}
				a, okA := matrixCounts(res, st(true), role)
				b, okB := matrixCounts(res, st(false), role)
				if !okA || !okB || a[0]+a[1] == 0 || b[0]+b[1] == 0 {
					continue
				}
				diff += Rate(a[0], a[0]+a[1]) - Rate(b[0], b[0]+b[1])
				strata = append(strata, fmt.Sprintf("with %s's %s, %s against %s", other, onOffWord(otherOn), rateText(a[0], a[0]+a[1]), rateText(b[0], b[0]+b[1])))
			}
			more := "more"
			if diff < 0 {
				more = "less"
			}
			fs.add(tierDifference, float64(onN+offN), "pattern", fmt.Sprintf("%s's error-path requests got 500 %s often while %s had custom error responses on than while it had them off (%s): %s (%s).",
				role, more, set, whose, strings.Join(strata, "; "), adjText(t)), ev, tests...)
		}
	}
}

// eitherSetting compares custom error responses on at least one
// distribution with off on both.
func (fs *findings) eitherSetting() {
	res := fs.res
	t := fs.test(eitherTestName())
	if t == nil || len(t.Table) < 2 {
		return
	}
	on500, onN := t.Table[0][0], t.Table[0][0]+t.Table[0][1]
	off500, offN := t.Table[1][0], t.Table[1][0]+t.Table[1][1]
	ev := map[string]float64{"on_error_path_requests": float64(onN), "on_error_path_500": float64(on500),
		"off_error_path_requests": float64(offN), "off_error_path_500": float64(off500)}
	if t.PAdjusted != nil {
		ev["p_adjusted"] = *t.PAdjusted
	}
	// Every observed configuration with a setting on got 500s?
	every := true
	for _, st := range matrixStates[1:] {
		var x int64
		obs := false
		for _, role := range []string{roleNames[roleProd], roleNames[roleStaging]} {
			row, ok := matrixCounts(res, st, role)
			x += row[0]
			obs = obs || ok && row[0]+row[1] > 0
		}
		if obs && x == 0 {
			every = false
		}
	}
	switch {
	case t.Significant && off500 == 0 && every && offN >= smallGroup:
		fs.add(tierPattern, float64(onN+offN), "custom_errors", fmt.Sprintf("500s appeared in every configuration with custom error responses on at least one distribution, %s error-path requests of both roles, and never with them off on both (none of %d; policy enabled, outside peak hours; %s).",
			rateText(on500, onN), offN, adjText(t)), ev, t.Name)
	case t.Significant:
		fs.add(tierDifference, float64(onN+offN), "custom_errors", fmt.Sprintf("Error paths got 500 in %s requests with custom error responses on at least one distribution, against %s with them off on both (policy enabled, outside peak hours; %s).",
			rateText(on500, onN), rateText(off500, offN), adjText(t)), ev, t.Name)
	default:
		fs.add(tierNoDifference, float64(onN+offN), "no_difference", fmt.Sprintf("With the policy enabled and outside peak hours, the 500 share of error paths does not differ between custom error responses on at least one distribution (%s) and off on both (%s; %s): no pattern by configuration.",
			rateText(on500, onN), rateText(off500, offN), adjText(t)), ev, t.Name)
	}
}

// roleDifferences states in which configurations one role's error paths
// got 500 more often than the other's.
func (fs *findings) roleDifferences() {
	res := fs.res
	prod, stg := roleNames[roleProd], roleNames[roleStaging]
	type side struct {
		parts, tests []string
		n            int64
	}
	var higher [2]side // staging higher, production higher
	for _, st := range matrixStates {
		t := fs.test(roleStateTestName(st))
		if t == nil || !t.Significant || len(t.Table) < 2 {
			continue
		}
		p, s := t.Table[0], t.Table[1]
		rp, rs := Rate(p[0], p[0]+p[1]), Rate(s[0], s[0]+s[1])
		i, hi, lo := 0, rs, rp
		if rp > rs {
			i, hi, lo = 1, rp, rs
		}
		higher[i].parts = append(higher[i].parts, fmt.Sprintf("custom errors %s (%s against %s)", st.label(), pct(hi), pct(lo)))
		higher[i].tests = append(higher[i].tests, t.Name)
		higher[i].n += p[0] + p[1] + s[0] + s[1]
		for _, c := range res.Matrix.Cells {
			if c.ProductionCustomErrors == st.prod && c.StagingCustomErrors == st.stg && c.Role == prod {
				for _, id := range c.Windows {
					higher[i].tests = append(higher[i].tests, roleWindowTestName(id))
				}
			}
		}
	}
	for i, h := range higher {
		if len(h.parts) == 0 {
			continue
		}
		a, b := stg, prod
		if i == 1 {
			a, b = prod, stg
		}
		fs.add(tierDifference, float64(h.n), "roles", fmt.Sprintf("%s's error-path requests got 500 more often than %s's in the same configuration: %s (policy enabled, outside peak hours; each adjusted p < %s).",
			a, b, strings.Join(h.parts, "; "), strconv.FormatFloat(alpha, 'f', -1, 64)), map[string]float64{"configurations": float64(len(h.parts)), "error_path_requests": float64(h.n)}, h.tests...)
	}
}

func (fs *findings) paths() {
	res := fs.res
	var total500, err500, good500, errReq, goodReq int64
	for _, c := range res.Cells {
		total500 += c.Status500
		err500 += c.ErrorPath500
		good500 += c.GoodPath500
		errReq += c.ErrorPathRequests
		goodReq += c.GoodPathRequests
	}
	ev := map[string]float64{"status_500": float64(total500), "error_path_500": float64(err500), "good_path_500": float64(good500),
		"error_path_requests": float64(errReq), "good_path_requests": float64(goodReq)}
	tests := []string{pathClassTestName(roleNames[roleProd]), pathClassTestName(roleNames[roleStaging])}
	n := float64(errReq + goodReq)
	switch {
	case total500 == 0:
		fs.add(tierPaths, n, "no_500", fmt.Sprintf("No request got a 500 in the range (%d requests).", errReq+goodReq), ev)
	case good500 == 0:
		fs.add(tierPaths, n, "paths", fmt.Sprintf("500s occur only on error paths: all %d 500s were on the %d error paths; the %d requests for good paths never got one.",
			total500, res.ErrorPaths.Error, goodReq), ev, tests...)
	default:
		fs.add(tierPaths, n, "paths", fmt.Sprintf("%s of the 500s were on error paths (%d of %d); %d requests for good paths got one (%s of them).",
			pct(Rate(err500, total500)), err500, total500, good500, pct(Rate(good500, goodReq))), ev, tests...)
	}
}

func (fs *findings) peakHours() {
	res := fs.res
	hours := peakClockHours(res.PeakHours.Hours)
	if len(hours) == 0 {
		return
	}
	hod := map[int]bool{}
	for _, h := range res.Hours {
		if h.PeakHours > 0 {
			hod[h.Hour] = true
		}
	}
	var hs []string
	for h := range 24 {
		if hod[h] {
			hs = append(hs, fmt.Sprintf("%02d", h))
		}
	}
	in, out := res.PeakHours.Inside[0], res.PeakHours.Outside[0] // production
	var req, stg int64
	for _, p := range res.PeakHours.Hours {
		req, stg = req+p.Requests, stg+p.Staging
	}
	ev := map[string]float64{"peak_hours": float64(len(hours)), "peak_requests": float64(req), "peak_staging_requests": float64(stg),
		"production_error_path_requests_inside": float64(in.ErrorPathRequests), "production_error_path_requests_outside": float64(out.ErrorPathRequests)}
	rate := func(g RateGroup) string {
		if g.ErrorPathRequests == 0 {
			return "n/a (no error-path requests)"
		}
		ev["production_rate_500_"+insideOutside(g, res.PeakHours.Inside)] = g.Rate500
		return pct(g.Rate500) + " (" + ciText(g.Rate500CI95) + ")"
	}
	inText, outText := rate(in), rate(out)
	fs.add(tierPeak, float64(req), "peak_hours", fmt.Sprintf("In %d clock hours (hours of day %s, %s; %s to %s) the policy was enabled but staging got %s of the requests; production error paths got 500 in %s of requests inside them, %s outside.",
		len(hours), strings.Join(hs, ", "), res.Timezone, timeText(hours[0]), timeText(hours[len(hours)-1].Add(time.Hour)), pct(Rate(stg, req)), inText, outText), ev,
		peakTestName(roleNames[roleProd]), peakTestName(roleNames[roleStaging]))
}

// hiddenErrors states how many failures custom error responses answered
// with a 2xx, apart from viewers that disconnected.
func (fs *findings) hiddenErrors() {
	res := fs.res
	var hidden, disc, unknown, req int64
	var where []string
	for _, c := range res.Cells {
		hidden, disc, unknown, req = hidden+c.HiddenErrors, disc+c.ClientDisconnects, unknown+c.Unknown2xx, req+c.Requests
		if c.HiddenErrors > 0 {
			where = append(where, fmt.Sprintf("window %d %s %d (%s)", c.Window, c.Role, c.HiddenErrors, pct(Rate(c.HiddenErrors, c.Requests))))
		}
	}
	if hidden == 0 && unknown == 0 {
		return
	}
	ev := map[string]float64{"hidden_errors": float64(hidden), "client_disconnects": float64(disc), "error_2xx_unknown": float64(unknown)}
	s := fmt.Sprintf("%d requests got a 2xx although CloudFront logged an Error result (x-edge-result-type and x-edge-response-result-type both Error): custom error responses that answered a failure with a success status, which the 500 counts do not show", hidden)
	if len(where) > 0 {
		s += ": " + strings.Join(where, ", ")
	}
	s += fmt.Sprintf(". %d viewer disconnects (an Error result with another response result type) are counted apart", disc)
	if unknown > 0 {
		s += fmt.Sprintf("; %d further Error results with a 2xx have no response result type to tell the two apart", unknown)
	}
	fs.add(tierHidden, float64(hidden+unknown), "hidden_errors", s+".", ev)
}

// cellFindings states the 500 share of each window × role whose error
// paths got 500s, outside peak hours where the window had some.
func (a *analysis) cellFindings(fs *findings) {
	res := fs.res
	for wi, w := range res.Windows {
		for r := roleProd; r < numRoles; r++ {
			c := res.Cells[2*wi+int(r-roleProd)]
			if c.ErrorPath500 == 0 {
				continue
			}
			o := a.outsideCounts(wi, r)
			n, x, where := o.err.req, o.err.s500, ""
			if n != c.ErrorPathRequests {
				where = " outside peak hours"
			}
			if n == 0 {
				continue
			}
			rate, ci := o.rate500()
			ev := map[string]float64{"window": float64(w.ID), "error_path_requests": float64(n),
				"error_path_500": float64(x), "rate_500": rate, "rate_500_ci95_low": ci[0], "rate_500_ci95_high": ci[1]}
			tier := tierCell
			if n < smallGroup {
				tier = tierSmallTest
			}
			fs.add(tier, ci[0], "cell", fmt.Sprintf("%s, window %d (%s, %s – %s): %s (%s) of %d error-path requests%s got 500.",
				c.Role, w.ID, w.Label, timeText(w.From), timeText(w.To), pct(rate), ciText(ci), n, where), ev)
		}
	}
}

// remainingTests states the significant tests that support no other
// finding; those with a small-sample warning rank last.
func (fs *findings) remainingTests() {
	for i := range fs.res.Tests {
		t := &fs.res.Tests[i]
		if fs.grouped[t.Name] || !t.Significant {
			continue
		}
		ev := map[string]float64{"statistic": t.Statistic, "df": float64(t.DF), "p_value": t.PValue, "p_adjusted": *t.PAdjusted, "effect": t.Effect}
		s := fmt.Sprintf("%s: the 500 share differs (%s, %s, effect %.2f)", t.Name, t.Method, adjText(t), t.Effect)
		if t.RiskDifference != nil {
			ev["risk_difference"] = *t.RiskDifference
			s += fmt.Sprintf("; %s minus %s: %+.1f points (%+.1f to %+.1f)", t.Groups[0], t.Groups[1],
				100**t.RiskDifference, 100*t.RiskDifferenceCI95[0], 100*t.RiskDifferenceCI95[1])
		}
		tier := tierTest
		if t.Warning != "" {
			tier = tierSmallTest
			s += " (" + t.Warning + ")"
		}
		fs.add(tier, -math.Log10(math.Max(*t.PAdjusted, 1e-300)), "test", s+".", ev, t.Name)
	}
}
