package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// groupCounts sums fine counts of all rows and of error-path rows.
type groupCounts struct {
	all, err counts
}

func (g *groupCounts) rate500() (float64, [2]float64) {
	return Rate(g.err.s500, g.err.req), Wilson(g.err.s500, g.err.req, z95)
}

// sumBy groups the fine counts of all rows and of error-path rows by a
// key function.
func sumBy[K comparable](all, errs *fineSet, key func(fineKey) K) map[K]*groupCounts {
	m := map[K]*groupCounts{}
	get := func(k K) *groupCounts {
		g := m[k]
		if g == nil {
			g = &groupCounts{}
			m[k] = g
		}
		return g
	}
	for i, k := range all.keys {
		get(key(k)).all.merge(all.vals[i])
	}
	for i, k := range errs.keys {
		get(key(k)).err.merge(errs.vals[i])
	}
	return m
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

var weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func (a *builder) result() *Result {
	g := a.global
	loc := a.opts.Location

	res := &Result{
		Schema:        SchemaVersion,
		Timezone:      loc.String(),
		SettleSeconds: a.opts.Settle.Seconds(),
		BucketSeconds: a.opts.Bucket.Seconds(),
		Distributions: Distributions{Production: a.opts.Production, Staging: a.opts.Staging},
		ErrorPathRule: a.errorRule,
		Input: Input{
			Objects:        g.objects,
			Rows:           g.rows + g.outOfRange + g.settling + g.unknownRole,
			Analyzed:       g.rows,
			OutOfRange:     g.outOfRange,
			Settling:       g.settling,
			UnknownRole:    g.unknownRole,
			AbortedObjects: g.aborted,
		},
		Warnings: []string{},
		Tests:    []Test{},
		Findings: []Finding{},
	}

	// Range and windows, with unbounded sides closed by the data.
	res.Range = Range{From: a.opts.From.UTC(), To: a.opts.To.UTC()}
	if a.opts.From.IsZero() && g.rows > 0 {
		res.Range.From = time.UnixMilli(g.minTs).UTC()
	}
	if a.opts.To.IsZero() && g.rows > 0 {
		res.Range.To = time.UnixMilli(g.maxTs + 1).UTC()
	}
	// On an unbounded side, windows wholly outside the rows seen are
	// left out (a timeline usually starts before the logs do).
	first, last := 0, len(a.windows)-1
	if g.rows > 0 {
		perWindow := make([]int64, len(a.windows))
		for i, k := range g.fine.keys {
			perWindow[k.window] += g.fine.vals[i].req
		}
		for a.opts.From.IsZero() && first < last && perWindow[first] == 0 && !a.windows[first].To.After(res.Range.From) {
			first++
		}
		for a.opts.To.IsZero() && last > first && perWindow[last] == 0 && !a.windows[last].From.Before(res.Range.To) {
			last--
		}
	}
	a.off = first
	res.Windows = make([]Window, last-first+1)
	copy(res.Windows, a.windows[first:last+1])
	for i := range res.Windows {
		w := &res.Windows[i]
		w.ID = i + 1
		if w.From.IsZero() {
			w.From = res.Range.From
			if w.SettleUntil.IsZero() {
				w.SettleUntil = w.From
			}
		}
		if w.To.IsZero() {
			w.To = res.Range.To
		}
	}

	// Path classification.
	errFine := &g.errFine
	res.ErrorPaths.Stems = g.paths.stems
	res.ErrorPaths.Error = g.paths.errStems
	res.ErrorPaths.Requests = g.paths.requests
	res.ErrorPaths.Status500 = g.paths.status500
	res.ErrorPaths.Top = headOf(g.paths.top, a.opts.TopPaths)
	res.ErrorPaths.TopGood500 = headOf(g.paths.topGood500, a.opts.TopPaths)
	if g.unknownRole > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d rows came from distributions that are neither production nor staging and were left out (give --production and --staging)", g.unknownRole))
	}
	if g.aborted > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d object reads were abandoned midway; their rows are not counted", g.aborted))
	}

	a.buildCells(res, errFine)
	for _, c := range res.Cells {
		if c.ErrorPathRequests > 0 && c.ErrorPathRequests < smallGroup {
			res.Warnings = append(res.Warnings, fmt.Sprintf("window %d, %s: only %d error-path requests, too few for its 500 rate to say anything", c.Window, c.Role, c.ErrorPathRequests))
		}
	}
	a.buildHours(res, errFine)
	a.buildSeries(res, errFine)
	a.buildTests(res)
	buildFindings(res)
	for i := range res.Windows {
		w := res.Windows[i]
		var unknown []string
		if w.State.Production.CustomErrorResponses == nil {
			unknown = append(unknown, "custom error responses of production")
		}
		if w.State.Staging.CustomErrorResponses == nil {
			unknown = append(unknown, "custom error responses of staging")
		}
		if w.State.ContinuousDeployment.Enabled == nil {
			unknown = append(unknown, "the continuous deployment policy")
		}
		if len(unknown) > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("window %d: state unknown for %s (no change before it in the timeline)", w.ID, strings.Join(unknown, ", ")))
		}
	}
	return res
}

func headOf(ps []PathCount, n int) []PathCount {
	if len(ps) > n {
		ps = ps[:n]
	}
	return append([]PathCount{}, ps...)
}

func statusName(code int) string {
	switch code {
	case statusNull:
		return "null"
	case statusOther:
		return "other"
	}
	return fmt.Sprintf("%03d", code)
}

func (a *builder) buildCells(res *Result, errFine *fineSet) {
	g := a.global
	sums := sumBy(&g.fine, errFine, func(k fineKey) cellKey { return cellKey{k.window, k.role} })
	for wi, w := range res.Windows {
		for r := roleProd; r < numRoles; r++ {
			ck := cellKey{int32(wi + a.off), r}
			s := sums[ck]
			if s == nil {
				s = &groupCounts{}
			}
			c := Cell{
				Window:                 w.ID,
				Role:                   roleNames[r],
				Requests:               s.all.req,
				Status:                 map[string]int64{},
				Status500:              s.all.s500,
				Status5xx:              s.all.s5xx,
				ErrorPathRequests:      s.err.req,
				ErrorPath4xx:           s.err.s4xx,
				ErrorPath500:           s.err.s500,
				ErrorPath5xx:           s.err.s5xx,
				GoodPathRequests:       s.all.req - s.err.req,
				GoodPath500:            s.all.s500 - s.err.s500,
				ResultTypes500:         map[string]int64{},
				ResponseResultTypes500: map[string]int64{},
				DetailedResultTypes500: map[string]int64{},
			}
			c.Rate500, c.Rate500CI95 = Rate(s.err.s500, s.err.req), Wilson(s.err.s500, s.err.req, z95)
			c.Rate5xx, c.Rate5xxCI95 = Rate(s.err.s5xx, s.err.req), Wilson(s.err.s5xx, s.err.req, z95)
			c.Rate500All, c.Rate500AllCI95 = Rate(s.all.s500, s.all.req), Wilson(s.all.s500, s.all.req, z95)
			c.Rate5xxAll, c.Rate5xxAllCI95 = Rate(s.all.s5xx, s.all.req), Wilson(s.all.s5xx, s.all.req, z95)
			if ca := g.cells[ck]; ca != nil {
				for code, v := range ca.status {
					if v > 0 {
						c.Status[statusName(code)] = v
					}
				}
				for k, dst := range []map[string]int64{c.ResultTypes500, c.ResponseResultTypes500, c.DetailedResultTypes500} {
					for s, v := range ca.rt[k] {
						dst[s] = v
					}
				}
			}
			res.Cells = append(res.Cells, c)
		}
	}
}

// policyWindows returns, per window index, the staging weight of an
// enabled weighted policy (or -1).
func (a *builder) policyWindows() []float64 {
	ws := make([]float64, len(a.windows))
	for i, w := range a.windows {
		ws[i] = -1
		if wt, ok := w.State.PolicyWeight(); ok {
			ws[i] = wt
		}
	}
	return ws
}

func (a *builder) hourStart(h int64) time.Time {
	wall := time.UnixMilli(h * 3600_000).UTC()
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), 0, 0, 0, a.opts.Location).UTC()
}

func (a *builder) buildHours(res *Result, errFine *fineSet) {
	g := a.global
	weights := a.policyWindows()
	anyPolicy := false
	for _, w := range weights {
		anyPolicy = anyPolicy || w >= 0
	}
	inShare := func(k fineKey) bool { return !anyPolicy || weights[k.window] >= 0 }

	// Peak hours: clock hour × window with an enabled weighted policy.
	type hw struct {
		hour   int64
		window int32
	}
	var peak = map[hw]bool{}
	perHour := map[hw]*[numRoles]int64{}
	for i, k := range g.fine.keys {
		if weights[k.window] <= 0 {
			continue
		}
		x := perHour[hw{k.hour, k.window}]
		if x == nil {
			x = &[numRoles]int64{}
			perHour[hw{k.hour, k.window}] = x
		}
		x[k.role] += g.fine.vals[i].req
	}
	res.PeakHours.Rule = fmt.Sprintf("a clock hour of an enabled weighted policy with weight w where staging got less than %s·w of the requests, with at least %s requests expected on staging",
		strconv.FormatFloat(a.opts.PeakShareFactor, 'f', -1, 64), strconv.FormatFloat(a.opts.PeakMinExpected, 'f', -1, 64))
	res.PeakHours.Hours = []PeakHour{}
	peaksByHourOfDay := [24]int{}
	for k, x := range perHour {
		w := weights[k.window]
		n := x[roleProd] + x[roleStaging]
		share := Rate(x[roleStaging], n)
		if float64(n)*w >= a.opts.PeakMinExpected && share < a.opts.PeakShareFactor*w {
			peak[k] = true
			from := a.hourStart(k.hour)
			res.PeakHours.Hours = append(res.PeakHours.Hours, PeakHour{
				From: from, To: from.Add(time.Hour), Window: res.Windows[int(k.window)-a.off].ID,
				Requests: n, Staging: x[roleStaging], StagingShare: share, ExpectedShare: w,
			})
			peaksByHourOfDay[floorMod(k.hour, 24)]++
		}
	}
	slices.SortFunc(res.PeakHours.Hours, func(x, y PeakHour) int {
		if c := x.From.Compare(y.From); c != 0 {
			return c
		}
		return cmp.Compare(x.Window, y.Window)
	})
	// 500 rates inside and outside the peak hours, policy enabled only.
	type inRole struct {
		in   bool
		role uint8
	}
	rates := sumBy(&g.fine, errFine, func(k fineKey) inRole {
		if weights[k.window] <= 0 {
			return inRole{role: roleNone}
		}
		return inRole{peak[hw{k.hour, k.window}], k.role}
	})
	res.PeakHours.Inside, res.PeakHours.Outside = []RateGroup{}, []RateGroup{}
	for r := roleProd; r < numRoles; r++ {
		for _, in := range []bool{true, false} {
			s := rates[inRole{in, r}]
			if s == nil {
				s = &groupCounts{}
			}
			rg := RateGroup{Role: roleNames[r], Requests: s.all.req, ErrorPathRequests: s.err.req, ErrorPath500: s.err.s500}
			rg.Rate500, rg.Rate500CI95 = s.rate500()
			if in {
				res.PeakHours.Inside = append(res.PeakHours.Inside, rg)
			} else {
				res.PeakHours.Outside = append(res.PeakHours.Outside, rg)
			}
		}
	}

	type winIn struct {
		window int32
		in     bool
		role   uint8
	}
	byWin := sumBy(&g.fine, errFine, func(k fineKey) winIn {
		if weights[k.window] <= 0 {
			return winIn{window: -1}
		}
		return winIn{k.window, peak[hw{k.hour, k.window}], k.role}
	})
	res.PeakHours.ByWindow = []WindowRateGroup{}
	for wi := range res.Windows {
		if weights[wi+a.off] <= 0 {
			continue
		}
		for r := roleProd; r < numRoles; r++ {
			for _, in := range []bool{false, true} {
				s := byWin[winIn{int32(wi + a.off), in, r}]
				if s == nil {
					continue
				}
				rg := RateGroup{Role: roleNames[r], Requests: s.all.req, ErrorPathRequests: s.err.req, ErrorPath500: s.err.s500}
				rg.Rate500, rg.Rate500CI95 = s.rate500()
				res.PeakHours.ByWindow = append(res.PeakHours.ByWindow, WindowRateGroup{Window: res.Windows[wi].ID, Peak: in, RateGroup: rg})
			}
		}
	}

	// Hour of day and day of week.
	type rk struct {
		role uint8
		slot int64
	}
	hours := sumBy(&g.fine, errFine, func(k fineKey) rk { return rk{k.role, floorMod(k.hour, 24)} })
	days := sumBy(&g.fine, errFine, func(k fineKey) rk { return rk{k.role, floorMod(floorDiv(k.hour, 24)+4, 7)} })
	shareH := map[int64]*[numRoles]int64{}
	shareD := map[int64]*[numRoles]int64{}
	for i, k := range g.fine.keys {
		if !inShare(k) {
			continue
		}
		for _, x := range []struct {
			m    map[int64]*[numRoles]int64
			slot int64
		}{{shareH, floorMod(k.hour, 24)}, {shareD, floorMod(floorDiv(k.hour, 24)+4, 7)}} {
			v := x.m[x.slot]
			if v == nil {
				v = &[numRoles]int64{}
				x.m[x.slot] = v
			}
			v[k.role] += g.fine.vals[i].req
		}
	}
	share := func(m map[int64]*[numRoles]int64, slot int64) float64 {
		v := m[slot]
		if v == nil {
			return 0
		}
		return Rate(v[roleStaging], v[roleProd]+v[roleStaging])
	}
	res.Hours, res.Weekdays = []Hour{}, []Weekday{}
	for r := roleProd; r < numRoles; r++ {
		for h := range int64(24) {
			s := hours[rk{r, h}]
			if s == nil {
				s = &groupCounts{}
			}
			hr := Hour{Role: roleNames[r], Hour: int(h), Requests: s.all.req, ErrorPathRequests: s.err.req,
				Status500: s.all.s500, ErrorPath500: s.err.s500, StagingShare: share(shareH, h), PeakHours: peaksByHourOfDay[h]}
			hr.Rate500, hr.Rate500CI95 = s.rate500()
			res.Hours = append(res.Hours, hr)
		}
		for d := range int64(7) {
			s := days[rk{r, d}]
			if s == nil {
				s = &groupCounts{}
			}
			wd := Weekday{Role: roleNames[r], Day: int(d), Name: weekdayNames[d], Requests: s.all.req, ErrorPathRequests: s.err.req,
				Status500: s.all.s500, ErrorPath500: s.err.s500, StagingShare: share(shareD, d)}
			wd.Rate500, wd.Rate500CI95 = s.rate500()
			res.Weekdays = append(res.Weekdays, wd)
		}
	}
}

func (a *builder) buildSeries(res *Result, errFine *fineSet) {
	g := a.global
	type br struct {
		bucket int64
		role   uint8
	}
	sums := sumBy(&g.fine, errFine, func(k fineKey) br { return br{k.bucket, k.role} })
	keys := make([]br, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].bucket != keys[j].bucket {
			return keys[i].bucket < keys[j].bucket
		}
		return keys[i].role < keys[j].role
	})
	res.Series.Points = make([]Point, 0, len(keys))
	for _, k := range keys {
		s := sums[k]
		if s.all.req == 0 {
			continue
		}
		res.Series.Points = append(res.Series.Points, Point{
			Time: time.UnixMilli(k.bucket * a.bucketMS).UTC(), Role: roleNames[k.role],
			Requests: s.all.req, ErrorPathRequests: s.err.req, Status500: s.all.s500, ErrorPath500: s.err.s500,
			Rate500: Rate(s.err.s500, s.err.req),
		})
	}
	res.Series.Boundaries = []time.Time{}
	for _, w := range res.Windows[1:] {
		res.Series.Boundaries = append(res.Series.Boundaries, w.From)
	}
}

// smallGroup is the fewest requests in a group for which a rate says
// something.
const smallGroup = 10

// association tests 500 against a grouping: table rows are groups, with
// [500, not 500] counts. Groups without requests are dropped; fewer than
// two groups left give no test.
func association(name string, groups []string, table [][2]int64) (Test, bool) {
	t := Test{Name: name, Groups: []string{}, Table: [][2]int64{}}
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
	cs := ChiSquare(m, two)
	t.Statistic, t.DF, t.PValue = cs.Statistic, cs.DF, cs.PValue
	t.Effect = CramersV(ChiSquare(m, false).Statistic, cs.N, cs.Rows, cs.Cols)
	t.Method = "chi-square"
	if two {
		t.Method = "chi-square (Yates)"
		if cs.Cols == 2 && cs.MinExpected < 5 {
			t.Method = "fisher-exact"
			t.PValue = FisherExact(m[0][0], m[0][1], m[1][0], m[1][1])
		}
		d, ci := RiskDifference(m[0][0], m[0][0]+m[0][1], m[1][0], m[1][0]+m[1][1])
		t.RiskDifference, t.RiskDifferenceCI95 = &d, &ci
	} else if cs.Cols == 2 && cs.MinExpected < 5 {
		t.Warning = fmt.Sprintf("expected counts down to %.1f (below 5): the p-value is approximate", cs.MinExpected)
	}
	if cs.Cols < 2 {
		t.Warning = joinWarn(t.Warning, "no variation: every request had the same outcome")
	}
	if len(small) > 0 {
		t.Warning = joinWarn(t.Warning, "too few requests to say anything about "+strings.Join(small, ", "))
	}
	return t, true
}

func joinWarn(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (a *builder) buildTests(res *Result) {
	cell := func(wi int, role string) *Cell {
		for i := range res.Cells {
			if res.Cells[i].Window == res.Windows[wi].ID && res.Cells[i].Role == role {
				return &res.Cells[i]
			}
		}
		return nil
	}
	roles := []string{roleNames[roleProd], roleNames[roleStaging]}
	// 500 vs window, per role.
	for _, role := range roles {
		var groups []string
		var table [][2]int64
		for wi, w := range res.Windows {
			c := cell(wi, role)
			groups = append(groups, fmt.Sprintf("window %d", w.ID))
			table = append(table, [2]int64{c.ErrorPath500, c.ErrorPathRequests - c.ErrorPath500})
		}
		if t, ok := association(fmt.Sprintf("500 vs window (%s, error paths)", role), groups, table); ok {
			res.Tests = append(res.Tests, t)
		}
	}
	// Production vs staging, per window.
	for wi, w := range res.Windows {
		var table [][2]int64
		for _, role := range roles {
			c := cell(wi, role)
			table = append(table, [2]int64{c.ErrorPath500, c.ErrorPathRequests - c.ErrorPath500})
		}
		if t, ok := association(fmt.Sprintf("500 vs role (window %d, error paths)", w.ID), roles, table); ok {
			res.Tests = append(res.Tests, t)
		}
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
		if t, ok := association(fmt.Sprintf("500 vs path class (%s)", role), []string{"error paths", "good paths"},
			[][2]int64{{e500, ep - e500}, {g500, gp - g500}}); ok {
			res.Tests = append(res.Tests, t)
		}
	}
	// Inside vs outside peak hours, per role.
	if len(res.PeakHours.Hours) > 0 {
		for i, in := range res.PeakHours.Inside {
			out := res.PeakHours.Outside[i]
			if t, ok := association(fmt.Sprintf("500 vs peak hours (%s, error paths, policy enabled)", in.Role), []string{"peak hours", "other hours"},
				[][2]int64{{in.ErrorPath500, in.ErrorPathRequests - in.ErrorPath500}, {out.ErrorPath500, out.ErrorPathRequests - out.ErrorPath500}}); ok {
				res.Tests = append(res.Tests, t)
			}
		}
	}
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func ciText(ci [2]float64) string { return pct(ci[0]) + "–" + pct(ci[1]) }

func pText(p float64) string {
	if p < 1e-4 {
		return "p < 0.0001"
	}
	return "p = " + strconv.FormatFloat(p, 'g', 2, 64)
}

// buildFindings ranks plain-language statements backed by the numbers.
func buildFindings(res *Result) {
	type scored struct {
		score float64
		f     Finding
	}
	var fs []scored
	add := func(score float64, kind, statement string, ev map[string]float64) {
		fs = append(fs, scored{score, Finding{Kind: kind, Statement: statement, Evidence: ev}})
	}
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
	switch {
	case total500 == 0:
		add(100, "no_500", fmt.Sprintf("No request got a 500 in the range (%d requests).", errReq+goodReq), ev)
	case good500 == 0:
		add(100, "paths", fmt.Sprintf("500s occur only on error paths: all %d 500s were on the %d error paths; the %d requests for good paths never got one.",
			total500, res.ErrorPaths.Error, goodReq), ev)
	default:
		add(90, "paths", fmt.Sprintf("%s of the 500s were on error paths (%d of %d); %d requests for good paths got one (%s of them).",
			pct(Rate(err500, total500)), err500, total500, good500, pct(Rate(good500, goodReq))), ev)
	}

	// Custom error responses off on both distributions vs on somewhere.
	var offReq, off500, onReq, on500 int64
	for _, c := range res.Cells {
		w := res.Windows[c.Window-1].State
		p, s := w.Production.CustomErrorResponses, w.Staging.CustomErrorResponses
		switch {
		case p != nil && s != nil && !*p && !*s:
			offReq, off500 = offReq+c.ErrorPathRequests, off500+c.ErrorPath500
		case (p != nil && *p) || (s != nil && *s):
			onReq, on500 = onReq+c.ErrorPathRequests, on500+c.ErrorPath500
		}
	}
	ev = map[string]float64{"off_error_path_requests": float64(offReq), "off_error_path_500": float64(off500),
		"on_error_path_requests": float64(onReq), "on_error_path_500": float64(on500)}
	if offReq > 0 && onReq > 0 && on500 > 0 {
		ron, roff := Rate(on500, onReq), Rate(off500, offReq)
		if off500 == 0 {
			add(95, "custom_errors", fmt.Sprintf("500s occur only when custom error responses are on: %d of %d error-path requests (%s) with them on at least one distribution, none of %d with them off on both.",
				on500, onReq, pct(ron), offReq), ev)
		} else {
			add(85, "custom_errors", fmt.Sprintf("Error paths got 500 in %s of requests with custom error responses on at least one distribution, against %s with them off on both (%d and %d requests).",
				pct(ron), pct(roff), onReq, offReq), ev)
		}
	}

	// Peak hours.
	if n := len(res.PeakHours.Hours); n > 0 {
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
		ev := map[string]float64{"peak_hours": float64(n), "peak_requests": float64(req), "peak_staging_requests": float64(stg),
			"production_rate_500_inside": in.Rate500, "production_rate_500_outside": out.Rate500,
			"production_error_path_requests_inside": float64(in.ErrorPathRequests), "production_error_path_requests_outside": float64(out.ErrorPathRequests)}
		add(80, "peak_hours", fmt.Sprintf("In %d clock hours (hours of day %s, %s) the policy was enabled but staging got %s of the requests; production error paths got 500 in %s (%s) of requests inside them, %s (%s) outside.",
			n, strings.Join(hs, ", "), res.Timezone, pct(Rate(stg, req)), pct(in.Rate500), ciText(in.Rate500CI95), pct(out.Rate500), ciText(out.Rate500CI95)), ev)
	}

	// Significant tests.
	for _, t := range res.Tests {
		if t.PValue >= 0.001 || t.Warning != "" && strings.Contains(t.Warning, "no variation") {
			continue
		}
		ev := map[string]float64{"statistic": t.Statistic, "df": float64(t.DF), "p_value": t.PValue, "effect": t.Effect}
		s := fmt.Sprintf("%s: the 500 rate differs (%s, %s, effect %.2f)", t.Name, t.Method, pText(t.PValue), t.Effect)
		if t.RiskDifference != nil {
			ev["risk_difference"] = *t.RiskDifference
			s += fmt.Sprintf("; %s minus %s: %+.1f points (%+.1f to %+.1f)", t.Groups[0], t.Groups[1],
				100**t.RiskDifference, 100*t.RiskDifferenceCI95[0], 100*t.RiskDifferenceCI95[1])
		}
		add(60+10*t.Effect, "test", s+".", ev)
	}

	// Cells whose error paths got 500s.
	peaks := map[int]bool{}
	for _, p := range res.PeakHours.Hours {
		peaks[p.Window] = true
	}
	for _, c := range res.Cells {
		if c.ErrorPath500 == 0 {
			continue
		}
		w := res.Windows[c.Window-1]
		n, x, rate, ci, where := c.ErrorPathRequests, c.ErrorPath500, c.Rate500, c.Rate500CI95, ""
		// Where peak hours cut the window, the rate outside them is the
		// one the policy's routing gives.
		if peaks[c.Window] {
			for _, g := range res.PeakHours.ByWindow {
				if g.Window == c.Window && g.Role == c.Role && !g.Peak && g.ErrorPathRequests > 0 {
					n, x, rate, ci, where = g.ErrorPathRequests, g.ErrorPath500, g.Rate500, g.Rate500CI95, " outside peak hours"
				}
			}
		}
		ev := map[string]float64{"window": float64(c.Window), "error_path_requests": float64(n),
			"error_path_500": float64(x), "rate_500": rate, "rate_500_ci95_low": ci[0], "rate_500_ci95_high": ci[1]}
		add(40+10*rate, "cell", fmt.Sprintf("%s, window %d (%s): %s (%s) of %d error-path requests%s got 500.",
			c.Role, c.Window, w.Label, pct(rate), ciText(ci), n, where), ev)
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].score > fs[j].score })
	res.Findings = make([]Finding, len(fs))
	for i, s := range fs {
		s.f.Rank = i + 1
		res.Findings[i] = s.f
	}
}
