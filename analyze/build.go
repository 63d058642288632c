package analyze

import (
	"fmt"
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

var weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// analysis is one computation of a Result: the builder and what its
// steps share.
type analysis struct {
	*builder
	// weights is, per window index, the staging weight of an enabled
	// weighted policy (or -1); enabled whether the policy is known to be
	// enabled.
	weights []float64
	enabled []bool
	// peak marks the peak hours; outside sums each window × role outside
	// them.
	peak    map[hourWindow]bool
	outside map[cellKey]*groupCounts
	hours   map[int64]localHour
}

func (b *builder) result() *Result {
	a := &analysis{builder: b, hours: map[int64]localHour{}}
	return a.result()
}

func (a *analysis) result() *Result {
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
		switch {
		case c.Requests == 0:
			res.Warnings = append(res.Warnings, fmt.Sprintf("window %d, %s: no requests; its 500 share is n/a", c.Window, c.Role))
		case c.ErrorPathRequests == 0:
			res.Warnings = append(res.Warnings, fmt.Sprintf("window %d, %s: no error-path requests; its 500 share is n/a", c.Window, c.Role))
		case c.ErrorPathRequests > 0 && c.ErrorPathRequests < smallGroup:
			res.Warnings = append(res.Warnings, fmt.Sprintf("window %d, %s: only %d error-path requests, too few for its 500 rate to say anything", c.Window, c.Role, c.ErrorPathRequests))
		}
	}
	a.policyWindows()
	a.detectPeaks(res)
	a.peakRates(res, errFine)
	a.outsidePeaks(errFine)
	a.buildMatrix(res)
	a.hoursOfDay(res, errFine)
	a.buildSeries(res, errFine)
	emptyGroupWarnings(res)
	a.stickyWarning(res)
	a.buildTests(res)
	a.buildFindings(res)
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

func (a *analysis) buildCells(res *Result, errFine *fineSet) {
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
				c.HiddenErrors = ca.edgeErrors.hidden2xx
				c.ClientDisconnects = ca.edgeErrors.disconnects
				c.Unknown2xx = ca.edgeErrors.unknown2xx
			}
			res.Cells = append(res.Cells, c)
		}
	}
}

// emptyGroupWarnings names the hours of day and days of the week that
// had requests but no error-path requests: their 500 share is n/a.
func emptyGroupWarnings(res *Result) {
	var hs, ds []string
	for _, h := range res.Hours {
		if h.Requests > 0 && h.ErrorPathRequests == 0 {
			hs = append(hs, fmt.Sprintf("%s %02d", h.Role, h.Hour))
		}
	}
	for _, d := range res.Weekdays {
		if d.Requests > 0 && d.ErrorPathRequests == 0 {
			ds = append(ds, d.Role+" "+d.Name)
		}
	}
	if len(hs) > 0 {
		res.Warnings = append(res.Warnings, "hours of day with requests but no error-path requests (500 share n/a): "+strings.Join(hs, ", "))
	}
	if len(ds) > 0 {
		res.Warnings = append(res.Warnings, "days of the week with requests but no error-path requests (500 share n/a): "+strings.Join(ds, ", "))
	}
	for _, g := range append(append([]RateGroup{}, res.PeakHours.Inside...), res.PeakHours.Outside...) {
		if g.Requests > 0 && g.ErrorPathRequests == 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s had requests but no error-path requests %s peak hours (500 share n/a)", g.Role, insideOutside(g, res.PeakHours.Inside)))
		}
	}
}

func insideOutside(g RateGroup, inside []RateGroup) string {
	for _, x := range inside {
		if x == g {
			return "inside"
		}
	}
	return "outside"
}

// stickyWarning says that the intervals assume independent requests,
// which sticky sessions break.
func (a *analysis) stickyWarning(res *Result) {
	var ws []string
	for wi, w := range res.Windows {
		if s := a.windows[wi+a.off].State.ContinuousDeployment.Sticky; s != nil && *s && a.enabled[wi+a.off] {
			ws = append(ws, fmt.Sprint(w.ID))
		}
	}
	if len(ws) > 0 {
		res.Warnings = append(res.Warnings, "the continuous deployment policy has sticky sessions (windows "+strings.Join(ws, ", ")+
			"): the requests of one viewer go to the same distribution and are not independent, so the intervals and p-values, which assume independent requests, are too narrow")
	}
}
