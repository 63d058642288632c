package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/cflens/cflens/analyze"
)

// column is one column of a table for people.
type column struct {
	Head string
	// Short is the heading on a terminal, where width is scarce (Head
	// when empty).
	Short string
	Right bool // numbers are right-aligned
}

// table is a table for people, shared by the text, Markdown and HTML
// renderers. Cells are plain strings; every renderer escapes all of them
// for its medium, ours and the log's alike.
type table struct {
	ID    string
	Title string
	Note  string
	// ShortNote explains the Short headings on a terminal.
	ShortNote string
	Cols      []column
	Rows      [][]string
}

// cols makes columns from headings: a leading '>' marks a right-aligned
// (numeric) column, and "|short" a short heading for terminals.
func cols(heads ...string) []column {
	c := make([]column, len(heads))
	for i, h := range heads {
		if strings.HasPrefix(h, ">") {
			c[i].Right, h = true, h[1:]
		}
		c[i].Head, c[i].Short, _ = strings.Cut(h, "|")
	}
	return c
}

// summaryRows are the key facts about an analysis, as label/value pairs.
func summaryRows(r *analyze.Result) [][2]string {
	in := r.Input
	ep := r.ErrorPaths
	return [][2]string{
		{"Range", timeText(r.Range.From) + " – " + timeText(r.Range.To)},
		{"Time zone", orDash(r.Timezone) + " (hours and days of the week)"},
		{"Production", orDash(r.Distributions.Production)},
		{"Staging", orDash(r.Distributions.Staging)},
		{"Settle margin", durationText(r.SettleSeconds) + " after each change"},
		{"Input", itoa(in.Objects) + " objects, " + itoa(in.Rows) + " rows (" + itoa(in.Analyzed) + " analysed, " +
			itoa(in.OutOfRange) + " out of range, " + itoa(in.Settling) + " settling, " + itoa(in.UnknownRole) +
			" unknown role), " + itoa(in.RejectedLines) + " rejected lines, " + itoa(in.AbortedObjects) + " object reads abandoned"},
		{"Error paths", orDash(r.ErrorPathRule) + ": " + itoa(ep.Error) + " of " + itoa(ep.Stems) + " paths, " +
			itoa(ep.Requests) + " requests, " + itoa(ep.Status500) + " got 500"},
	}
}

// headline is the one line above the matrix: range and distributions.
func headline(r *analyze.Result) string {
	return timeText(r.Range.From) + " – " + timeText(r.Range.To) + " (hours in " + orDash(r.Timezone) + "); production " +
		orDash(r.Distributions.Production) + ", staging " + orDash(r.Distributions.Staging)
}

// policyText describes the continuous deployment policy of a state.
func policyText(p analyze.PolicyState) string {
	switch {
	case p.Enabled == nil:
		return "?"
	case !*p.Enabled:
		return "off"
	}
	var b strings.Builder
	if p.Type != nil {
		b.WriteString(*p.Type)
	} else {
		b.WriteString("on")
	}
	if p.Weight != nil {
		b.WriteString(" " + pct(*p.Weight))
	}
	if p.Sticky != nil && *p.Sticky {
		b.WriteString(" sticky")
	}
	return b.String()
}

// windowsTable is the window × role table a person would write by hand.
func windowsTable(r *analyze.Result) table {
	t := table{
		ID:        "windows",
		Title:     "Windows × role",
		Note:      "500 share among error-path requests, with its 95% Wilson interval.",
		ShortNote: "CE: custom error responses; err: error-path requests; Good 500: 500s on good paths.",
		Cols: cols("Window", "Period", "Custom errors prod|Prod CE", "Custom errors staging|Staging CE", "Policy", "Role",
			">Requests", ">Error-path requests|err", ">500", ">500 share", ">95% CI", ">Good-path 500|Good 500"),
	}
	byWindow := map[int][]analyze.Cell{}
	for _, c := range r.Cells {
		byWindow[c.Window] = append(byWindow[c.Window], c)
	}
	for _, w := range r.Windows {
		head := []string{strconv.Itoa(w.ID), timeText(w.From) + " – " + timeText(w.To),
			analyze.OnOff(w.State.Production.CustomErrorResponses), analyze.OnOff(w.State.Staging.CustomErrorResponses),
			policyText(w.State.ContinuousDeployment)}
		cells := byWindow[w.ID]
		if len(cells) == 0 {
			t.Rows = append(t.Rows, append(head, "-", "0", "0", "0", na, na, "0"))
			continue
		}
		for i, c := range cells {
			row := head
			if i > 0 {
				row = []string{"", "", "", "", ""}
			}
			t.Rows = append(t.Rows, append(append(append([]string(nil), row...), c.Role, itoa(c.Requests)),
				append(rateCells(c.ErrorPathRequests, c.ErrorPathRequests, c.ErrorPath500, c.Rate500, c.Rate500CI95)[1:], itoa(c.GoodPath500))...))
		}
	}
	return t
}

// resultTypesTable breaks down the 500s of each window × role.
func resultTypesTable(r *analyze.Result) table {
	t := table{
		ID:    "result_types",
		Title: "Result types of the 500 responses",
		Cols:  cols("Window", "Role", ">500s", "x-edge-result-type", "x-edge-response-result-type", "x-edge-detailed-result-type"),
	}
	for _, c := range r.Cells {
		if c.Status500 == 0 {
			continue
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(c.Window), c.Role, itoa(c.Status500),
			countsText(c.ResultTypes500), countsText(c.ResponseResultTypes500), countsText(c.DetailedResultTypes500)})
	}
	return t
}

// na stands for a rate or interval over no requests: unknown, not 0.
const na = "n/a"

// rateCells are the cells of one role's group: requests, error-path
// requests, 500s, share and interval (n/a without error-path requests).
func rateCells(req, errReq, err500 int64, rate float64, ci [2]float64) []string {
	if errReq == 0 {
		return []string{itoa(req), "0", "0", na, na}
	}
	return []string{itoa(req), itoa(errReq), itoa(err500), pct(rate), ciText(ci)}
}

// matrixTable is the configuration matrix: one row per configuration of
// custom error responses, both roles side by side.
func matrixTable(r *analyze.Result) table {
	m := r.Matrix
	note := "500 share of error-path requests with its 95% Wilson interval, while the continuous deployment policy was enabled, " +
		"outside peak hours, windows of one configuration pooled"
	if m.PeakErrorPathRequests > 0 {
		note += " (" + itoa(m.PeakErrorPathRequests) + " error-path requests of peak hours left out)"
	}
	t := table{
		ID:        "matrix",
		Title:     "Configuration matrix",
		Note:      note + ".",
		ShortNote: "CE: custom error responses; err: error-path requests; share: 500 share among err.",
		Cols: cols("Custom errors production|Prod CE", "Custom errors staging|Staging CE", "Windows",
			">Prod error-path|Prod err", ">Prod 500", ">Prod 500 share|Prod share", ">Prod 95% CI",
			">Staging error-path|Stg err", ">Staging 500|Stg 500", ">Staging 500 share|Stg share", ">Staging 95% CI|Stg 95% CI"),
	}
	type key struct{ prod, stg bool }
	var order []key
	by := map[key][2]*analyze.MatrixCell{}
	for i := range m.Cells {
		c := &m.Cells[i]
		k := key{c.ProductionCustomErrors, c.StagingCustomErrors}
		pair, seen := by[k]
		if !seen {
			order = append(order, k)
		}
		for j, role := range roles {
			if c.Role == role {
				pair[j] = c
			}
		}
		by[k] = pair
	}
	for _, k := range order {
		pair := by[k]
		row := []string{analyze.OnOff(&k.prod), analyze.OnOff(&k.stg), "not observed"}
		observed := false
		for _, c := range pair {
			observed = observed || c != nil && c.Observed
		}
		if observed {
			var ids []string
			for _, c := range pair {
				if c != nil && len(c.Windows) > 0 {
					for _, id := range c.Windows {
						ids = append(ids, strconv.Itoa(id))
					}
					break
				}
			}
			row[2] = strings.Join(ids, ", ")
		}
		for _, c := range pair {
			if c == nil || !c.Observed {
				row = append(row, "-", "-", na, na)
				continue
			}
			rate, ci := 0.0, [2]float64{}
			if c.Rate500 != nil && c.Rate500CI95 != nil {
				rate, ci = *c.Rate500, *c.Rate500CI95
			}
			row = append(row, rateCells(c.Requests, c.ErrorPathRequests, c.ErrorPath500, rate, ci)[1:]...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// hiddenTable lists, per window × role, the Error results that reached
// the viewer as a 2xx, apart from viewer disconnects.
func hiddenTable(r *analyze.Result) table {
	t := table{
		ID:    "hidden_errors",
		Title: "Error results answered with a 2xx",
		Note: "Rows whose x-edge-result-type is Error: a 2xx with Error as x-edge-response-result-type too is a failure a custom error response hid; " +
			"another response result type is a viewer that disconnected; a 2xx without a response result type cannot be told apart.",
		Cols: cols("Window", "Role", ">Requests", ">Hidden failures (2xx)|Hidden", ">Share of requests|Share", ">Viewer disconnects|Disconnects", ">2xx, unknown|Unknown"),
	}
	for _, c := range r.Cells {
		if c.HiddenErrors == 0 && c.ClientDisconnects == 0 && c.Unknown2xx == 0 {
			continue
		}
		share := na
		if c.Requests > 0 {
			share = pct(float64(c.HiddenErrors) / float64(c.Requests))
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(c.Window), c.Role, itoa(c.Requests), itoa(c.HiddenErrors), share,
			itoa(c.ClientDisconnects), itoa(c.Unknown2xx)})
	}
	return t
}

// hoursTable pivots the hours of day: one row per hour, both roles.
func hoursTable(r *analyze.Result) table {
	t := table{
		ID:        "hours",
		Title:     "Hours of day (" + orDash(r.Timezone) + ")",
		Note:      "500 share among error-path requests; staging share of both roles' requests while the policy was enabled.",
		ShortNote: "req: requests; err: error-path requests; share: 500 share among err; Stg traffic: staging share of requests.",
		Cols: cols("Hour", ">Prod requests|Prod req", ">Prod error-path|Prod err", ">Prod 500", ">Prod 500 share|Prod share", ">Prod 95% CI",
			">Staging requests|Stg req", ">Staging error-path|Stg err", ">Staging 500|Stg 500", ">Staging 500 share|Stg share", ">Staging 95% CI|Stg 95% CI",
			">Staging share|Stg traffic", ">Peak hours|Peaks"),
	}
	var by [24][2]*analyze.Hour
	seen := [24]bool{}
	for i := range r.Hours {
		h := &r.Hours[i]
		if h.Hour < 0 || h.Hour > 23 {
			continue
		}
		seen[h.Hour] = true
		for j, role := range roles {
			if h.Role == role {
				by[h.Hour][j] = h
			}
		}
	}
	for hour := range 24 {
		if !seen[hour] {
			continue
		}
		row := []string{twoDigits(hour)}
		share, peaks := 0.0, 0
		for _, h := range by[hour] {
			if h == nil {
				row = append(row, "0", "0", "0", na, na)
				continue
			}
			row = append(row, rateCells(h.Requests, h.ErrorPathRequests, h.ErrorPath500, h.Rate500, h.Rate500CI95)...)
			share, peaks = max(share, h.StagingShare), max(peaks, h.PeakHours)
		}
		t.Rows = append(t.Rows, append(row, pct(share), strconv.Itoa(peaks)))
	}
	return t
}

func twoDigits(n int) string {
	if n >= 0 && n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// weekdaysTable pivots the days of the week like hoursTable.
func weekdaysTable(r *analyze.Result) table {
	t := table{
		ID:        "weekdays",
		Title:     "Days of the week (" + orDash(r.Timezone) + ")",
		ShortNote: "req: requests; err: error-path requests; share: 500 share among err; Stg traffic: staging share of requests.",
		Cols: cols("Day", ">Prod requests|Prod req", ">Prod error-path|Prod err", ">Prod 500", ">Prod 500 share|Prod share", ">Prod 95% CI",
			">Staging requests|Stg req", ">Staging error-path|Stg err", ">Staging 500|Stg 500", ">Staging 500 share|Stg share", ">Staging 95% CI|Stg 95% CI",
			">Staging share|Stg traffic"),
	}
	var by [7][2]*analyze.Weekday
	var names [7]string
	seen := [7]bool{}
	for i := range r.Weekdays {
		d := &r.Weekdays[i]
		if d.Day < 0 || d.Day > 6 {
			continue
		}
		seen[d.Day], names[d.Day] = true, d.Name
		for j, role := range roles {
			if d.Role == role {
				by[d.Day][j] = d
			}
		}
	}
	for day := range 7 {
		if !seen[day] {
			continue
		}
		row := []string{names[day]}
		share := 0.0
		for _, d := range by[day] {
			if d == nil {
				row = append(row, "0", "0", "0", na, na)
				continue
			}
			row = append(row, rateCells(d.Requests, d.ErrorPathRequests, d.ErrorPath500, d.Rate500, d.Rate500CI95)...)
			share = max(share, d.StagingShare)
		}
		t.Rows = append(t.Rows, append(row, pct(share)))
	}
	return t
}

// peakTables lists the detected peak hours and compares the 500 share
// inside and outside them.
func peakTables(r *analyze.Result) (hours, rates table) {
	hours = table{
		ID:    "peak_hours",
		Title: "Peak hours",
		Note:  r.PeakHours.Rule,
		Cols:  cols("Hour", ">Window", ">Requests", ">Staging requests", ">Staging share", ">Policy weight"),
	}
	for _, p := range r.PeakHours.Hours {
		hours.Rows = append(hours.Rows, []string{timeText(p.From), strconv.Itoa(p.Window), itoa(p.Requests), itoa(p.Staging),
			pct(p.StagingShare), pct(p.ExpectedShare)})
	}
	rates = table{
		ID:    "peak_rates",
		Title: "500 share inside and outside peak hours",
		Note:  "Error-path requests while the policy was enabled.",
		Cols: cols("Role", ">Inside error-path|In err", ">Inside 500|In 500", ">Inside 500 share|In share", ">Inside 95% CI|In 95% CI",
			">Outside error-path|Out err", ">Outside 500|Out 500", ">Outside 500 share|Out share", ">Outside 95% CI|Out 95% CI"),
	}
	for i, in := range r.PeakHours.Inside {
		row := []string{in.Role}
		row = append(row, rateCells(in.Requests, in.ErrorPathRequests, in.ErrorPath500, in.Rate500, in.Rate500CI95)[1:]...)
		if i < len(r.PeakHours.Outside) {
			o := r.PeakHours.Outside[i]
			row = append(row, rateCells(o.Requests, o.ErrorPathRequests, o.ErrorPath500, o.Rate500, o.Rate500CI95)[1:]...)
		} else {
			row = append(row, "0", "0", na, na)
		}
		rates.Rows = append(rates.Rows, row)
	}
	return hours, rates
}

// testsTable lists the tests of association.
func testsTable(r *analyze.Result) table {
	t := table{
		ID:    "tests",
		Title: "Tests (500 or not, error-path requests)",
		Note: "One family: the Holm–Bonferroni adjusted p-value decides (* significant, below 0.05); a table with no variation is not tested. " +
			"Finding: the finding a test supports.",
		Cols: cols(">Finding", "Test", "Method", "Groups (500 / requests)", ">Statistic", ">df", ">p", ">Adjusted p|Adj. p", ">Effect",
			"Difference (points) [95% CI]", "Warning"),
	}
	supports := map[string]string{}
	for _, f := range r.Findings {
		for _, name := range f.Tests {
			if _, ok := supports[name]; !ok {
				supports[name] = strconv.Itoa(f.Rank)
			}
		}
	}
	for _, x := range r.Tests {
		groups := make([]string, len(x.Groups))
		for i, g := range x.Groups {
			if i < len(x.Table) {
				g += " " + itoa(x.Table[i][0]) + "/" + itoa(x.Table[i][0]+x.Table[i][1])
			}
			groups[i] = g
		}
		diff := "-"
		if x.RiskDifference != nil {
			diff = points(*x.RiskDifference)
			if x.RiskDifferenceCI95 != nil {
				diff += " [" + points(x.RiskDifferenceCI95[0]) + ", " + points(x.RiskDifferenceCI95[1]) + "]"
			}
		}
		stat, df, p, adj, effect := fixed(x.Statistic, 2), strconv.Itoa(x.DF), pValue(x.PValue), "-", fixed(x.Effect, 3)
		if x.PAdjusted != nil {
			adj = pValue(*x.PAdjusted)
			if x.Significant {
				adj += " *"
			}
		}
		if x.Method == "none" {
			stat, df, p, effect = "-", "-", "-", "-"
		}
		t.Rows = append(t.Rows, []string{orDash(supports[x.Name]), x.Name, x.Method, strings.Join(groups, "; "), stat, df, p, adj, effect, diff, orDash(x.Warning)})
	}
	return t
}

// pathsTable lists paths with their request and 500 counts.
func pathsTable(id, title string, ps []analyze.PathCount) table {
	t := table{ID: id, Title: title, Cols: cols("Path (as logged)", ">Requests", ">500", ">500 share")}
	for _, p := range ps {
		share := "-"
		if p.Requests > 0 {
			share = pct(float64(p.Status500) / float64(p.Requests))
		}
		t.Rows = append(t.Rows, []string{p.Stem, itoa(p.Requests), itoa(p.Status500), share})
	}
	return t
}

// detailTables are the tables after the matrix, the findings and the
// window × role table, in report order.
func detailTables(r *analyze.Result) []table {
	peak, peakRates := peakTables(r)
	ts := []table{
		resultTypesTable(r),
		hiddenTable(r),
		hoursTable(r),
		weekdaysTable(r),
		peak,
		peakRates,
		testsTable(r),
		pathsTable("error_paths", "Top error paths", r.ErrorPaths.Top),
		pathsTable("good_paths_500", "Good paths that got 500", r.ErrorPaths.TopGood500),
	}
	if r.CompareDetected != nil {
		ts = append(ts, compareTable(r.CompareDetected))
	}
	return ts
}

// compareTable sets each recorded change beside the nearest detected
// one, then lists the detected changes nothing recorded explains.
func compareTable(c *analyze.DetectedComparison) table {
	t := table{
		ID:    "compare_detected",
		Title: "Recorded changes beside detected ones",
		Note: "A detected change explains a recorded one when it lies within " + durationText(c.ToleranceSeconds) +
			" of it or its interval holds it; lag is detected minus recorded (deployment to the edge and cached error responses delay what the logs show).",
		Cols: cols("Recorded", "Change", "Detected", ">Lag", "Interval", "What changed", "Explained"),
	}
	for _, m := range c.Recorded {
		row := []string{timeText(m.At), m.From + " → " + m.To, "-", na, "-", "-", "no"}
		if m.Nearest != nil {
			row[2], row[3], row[4], row[5] = timeText(m.Nearest.At), lagText(*m.LagSeconds),
				timeText(m.Nearest.Low)+" – "+timeText(m.Nearest.High), effectsText(m.Nearest.Effects)
			if m.Matched {
				row[6] = "yes"
			}
		}
		t.Rows = append(t.Rows, row)
	}
	for _, u := range c.Unexplained {
		t.Rows = append(t.Rows, []string{"-", "(nothing recorded)", timeText(u.At), na,
			timeText(u.Low) + " – " + timeText(u.High), effectsText(u.Effects), "unexplained"})
	}
	return t
}

// lagText is a signed duration: "+5m0s", "-10m0s".
func lagText(seconds float64) string {
	return analyze.FormatLag(time.Duration(seconds * float64(time.Second)))
}

func effectsText(es []analyze.EffectReport) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Text
	}
	return strings.Join(parts, "; ")
}
