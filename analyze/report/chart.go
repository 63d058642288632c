package report

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/cflens/cflens/analyze"
)

// svgChart is a chart as drawing primitives; the HTML template turns it
// into inline SVG, escaping every string. Coordinates are preformatted
// with one decimal so that output is stable.
type svgChart struct {
	ID     string
	Title  string
	Desc   string
	W, H   int
	Shades []svgRect
	Grid   []svgLine
	Bars   []svgRect
	Lines  []svgPath
	Dots   []svgDot
	Texts  []svgText
	Legend []legendItem
	// Data is the table of the numbers drawn, shown beside the chart.
	Data table
}

type svgRect struct{ X, Y, W, H, Class, Title string }
type svgLine struct{ X1, Y1, X2, Y2, Class string }
type svgPath struct{ Points, Class string }
type svgDot struct{ X, Y, Class, Title string }
type svgText struct{ X, Y, Anchor, Class, Text string }
type legendItem struct{ Class, Label string }

// Chart geometry.
const (
	chartW      = 960
	mLeft       = 56
	mRight      = 16
	mTop        = 28
	mBottom     = 40
	maxBuckets  = 240
	typeClasses = 7
)

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// plot maps values into the plot area of a chart.
type plot struct {
	x0, x1, y0, y1 float64 // pixel bounds: left, right, top, bottom
	ymax           float64 // value at the top
}

func newPlot(h int, ymax float64) plot {
	return plot{x0: mLeft, x1: chartW - mRight, y0: mTop, y1: float64(h - mBottom), ymax: ymax}
}

func (p plot) y(v float64) float64 {
	v = math.Max(0, math.Min(v, p.ymax))
	return p.y1 - (p.y1-p.y0)*v/p.ymax
}

// niceMax is the smallest of a few round shares that is at least v, so
// that axes read 0, 5%, 10%, ….
func niceMax(v float64) float64 {
	for _, m := range []float64{0.01, 0.02, 0.04, 0.05, 0.1, 0.2, 0.25, 0.4, 0.5, 0.6, 0.8, 1} {
		if v <= m {
			return m
		}
	}
	return 1
}

// yAxis adds horizontal grid lines and share labels.
func (c *svgChart) yAxis(p plot) {
	for i := 0; i <= 4; i++ {
		v := p.ymax * float64(i) / 4
		y := coord(p.y(v))
		c.Grid = append(c.Grid, svgLine{X1: coord(p.x0), Y1: y, X2: coord(p.x1), Y2: y, Class: "grid"})
		c.Texts = append(c.Texts, svgText{X: coord(p.x0 - 6), Y: coord(p.y(v) + 4), Anchor: "end", Class: "tick", Text: pct(v)})
	}
}

// roleClass is the CSS class of a role's colour.
func roleClass(role string) string {
	switch role {
	case "production":
		return "k-prod"
	case "staging":
		return "k-staging"
	}
	return "k-other"
}

// bucketPoint is one (possibly merged) bucket of one role.
type bucketPoint struct {
	t              time.Time
	requests       int64
	errReq, err500 int64
}

// timeChart draws the 500 share among error-path requests over time, per
// role, on the configuration windows (shaded and labelled). Buckets are
// merged so that at most maxBuckets are drawn per role.
func timeChart(r *analyze.Result) svgChart {
	const h = 340
	c := svgChart{ID: "chart-time", Title: "500 share of error-path requests over time",
		Desc: "One line per role; shaded bands are the configuration windows (W1, W2, …), darker where the settle margin was left out; dashed lines are the changes.", W: chartW, H: h}
	c.Legend = []legendItem{{"k-prod", "production"}, {"k-staging", "staging"}}
	from, to := r.Range.From, r.Range.To
	if !to.After(from) {
		for i, p := range r.Series.Points {
			if i == 0 || p.Time.Before(from) {
				from = p.Time
			}
			if i == 0 || p.Time.After(to) {
				to = p.Time
			}
		}
		to = to.Add(time.Duration(r.BucketSeconds * float64(time.Second)))
	}
	span := to.Sub(from)
	if span <= 0 {
		span = time.Hour
		to = from.Add(span)
	}
	bucket := time.Duration(r.BucketSeconds * float64(time.Second))
	if bucket <= 0 {
		bucket = 5 * time.Minute
	}
	if n := int64(span / bucket); n > maxBuckets {
		bucket *= time.Duration((n + maxBuckets - 1) / maxBuckets)
	}
	// Merge points into buckets of the chart, per role.
	merged := map[string]map[int64]*bucketPoint{}
	for _, p := range r.Series.Points {
		if p.Time.Before(from) || !p.Time.Before(to) {
			continue
		}
		i := int64(p.Time.Sub(from) / bucket)
		m := merged[p.Role]
		if m == nil {
			m = map[int64]*bucketPoint{}
			merged[p.Role] = m
		}
		b := m[i]
		if b == nil {
			b = &bucketPoint{t: from.Add(time.Duration(i) * bucket)}
			m[i] = b
		}
		b.requests += p.Requests
		b.errReq += p.ErrorPathRequests
		b.err500 += p.ErrorPath500
	}
	ymax := 0.0
	for _, m := range merged {
		for _, b := range m {
			if b.errReq > 0 {
				ymax = math.Max(ymax, float64(b.err500)/float64(b.errReq))
			}
		}
	}
	p := newPlot(h, niceMax(ymax))
	x := func(t time.Time) float64 {
		f := float64(t.Sub(from)) / float64(span)
		return p.x0 + (p.x1-p.x0)*math.Max(0, math.Min(1, f))
	}
	// Windows.
	for i, w := range r.Windows {
		if !w.To.After(from) || !w.From.Before(to) {
			continue
		}
		x0, x1 := x(w.From), x(w.To)
		class := "band"
		if i%2 == 1 {
			class = "band alt"
		}
		title := "Window " + strconv.Itoa(w.ID) + ": " + w.Label + " (" + timeText(w.From) + " – " + timeText(w.To) + ")"
		c.Shades = append(c.Shades, svgRect{X: coord(x0), Y: coord(p.y0), W: coord(x1 - x0), H: coord(p.y1 - p.y0), Class: class, Title: title})
		if w.SettleUntil.After(w.From) {
			s1 := x(w.SettleUntil)
			c.Shades = append(c.Shades, svgRect{X: coord(x0), Y: coord(p.y0), W: coord(s1 - x0), H: coord(p.y1 - p.y0), Class: "settle",
				Title: "Settle margin of window " + strconv.Itoa(w.ID) + " (left out)"})
		}
		if x1-x0 >= 18 {
			c.Texts = append(c.Texts, svgText{X: coord((x0 + x1) / 2), Y: coord(p.y0 - 8), Anchor: "middle", Class: "wlabel", Text: "W" + strconv.Itoa(w.ID)})
		}
	}
	for _, b := range r.Series.Boundaries {
		if b.After(from) && b.Before(to) {
			bx := coord(x(b))
			c.Grid = append(c.Grid, svgLine{X1: bx, Y1: coord(p.y0), X2: bx, Y2: coord(p.y1), Class: "boundary"})
		}
	}
	c.yAxis(p)
	c.timeAxis(p, from, to, x)
	// Lines and dots, per role in report order.
	c.Data = table{ID: "data-time", Title: "Data: 500 share over time", Cols: cols("Bucket start", "Role", ">Error-path requests", ">500", ">500 share")}
	for _, role := range roleOrder(merged) {
		m := merged[role]
		idx := make([]int64, 0, len(m))
		for i, b := range m {
			if b.errReq > 0 {
				idx = append(idx, i)
			}
		}
		sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
		class := roleClass(role)
		var pts string
		flush := func() {
			if pts != "" {
				c.Lines = append(c.Lines, svgPath{Points: pts, Class: "line " + class})
			}
			pts = ""
		}
		for k, i := range idx {
			b := m[i]
			if k > 0 && i != idx[k-1]+1 {
				flush()
			}
			rate := float64(b.err500) / float64(b.errReq)
			bx, by := x(b.t.Add(bucket/2)), p.y(rate)
			if pts != "" {
				pts += " "
			}
			pts += coord(bx) + "," + coord(by)
			title := role + " " + timeText(b.t) + ": " + pct(rate) + " 500 (" + itoa(b.err500) + " of " + itoa(b.errReq) + " error-path requests)"
			c.Dots = append(c.Dots, svgDot{X: coord(bx), Y: coord(by), Class: "dot " + class, Title: title})
			c.Data.Rows = append(c.Data.Rows, []string{timeText(b.t), role, itoa(b.errReq), itoa(b.err500), pct(rate)})
		}
		flush()
	}
	sort.SliceStable(c.Data.Rows, func(i, j int) bool { return c.Data.Rows[i][0] < c.Data.Rows[j][0] })
	c.Data.Note = "Buckets of " + bucket.String() + " with error-path requests."
	return c
}

// roleOrder lists production, staging, then any other roles by name.
func roleOrder[V any](m map[string]V) []string {
	var out []string
	for _, r := range roles {
		if _, ok := m[r]; ok {
			out = append(out, r)
		}
	}
	var rest []string
	for r := range m {
		if r != roles[0] && r != roles[1] {
			rest = append(rest, r)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// timeAxis labels the time axis at round steps (UTC).
func (c *svgChart) timeAxis(p plot, from, to time.Time, x func(time.Time) float64) {
	span := to.Sub(from)
	step := 7 * 24 * time.Hour
	for _, s := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour,
		12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour} {
		if span/s <= 8 {
			step = s
			break
		}
	}
	layout := "01-02 15:04"
	if step >= 24*time.Hour {
		layout = "2006-01-02"
	}
	c.Grid = append(c.Grid, svgLine{X1: coord(p.x0), Y1: coord(p.y1), X2: coord(p.x1), Y2: coord(p.y1), Class: "axis"})
	for t := from.UTC().Truncate(step); !t.After(to); t = t.Add(step) {
		if t.Before(from) {
			continue
		}
		tx := coord(x(t))
		c.Grid = append(c.Grid, svgLine{X1: tx, Y1: coord(p.y1), X2: tx, Y2: coord(p.y1 + 5), Class: "axis"})
		c.Texts = append(c.Texts, svgText{X: tx, Y: coord(p.y1 + 18), Anchor: "middle", Class: "tick", Text: t.Format(layout)})
	}
	c.Texts = append(c.Texts, svgText{X: coord(p.x1), Y: coord(p.y1 + 34), Anchor: "end", Class: "tick", Text: "UTC"})
}

// hourCharts draw, by hour of day, the 500 share of error-path requests
// per role (bars with their 95% intervals) and the staging share of
// requests (bars, peak hours marked).
func hourCharts(r *analyze.Result) (rate, staging svgChart) {
	const h = 300
	tz := orDash(r.Timezone)
	rate = svgChart{ID: "chart-hour-rate", Title: "500 share of error-path requests by hour of day (" + tz + ")",
		Desc: "Bars per role with 95% Wilson intervals.", W: chartW, H: h,
		Legend: []legendItem{{"k-prod", "production"}, {"k-staging", "staging"}, {"k-peak", "peak hours detected (shaded)"}}}
	staging = svgChart{ID: "chart-hour-share", Title: "Staging share of requests by hour of day (" + tz + ")",
		Desc: "Share of both roles' requests that went to staging while the policy was enabled; hours detected as peak hours are marked.", W: chartW, H: h,
		Legend: []legendItem{{"k-staging", "staging share"}, {"k-peak", "peak hours detected (shaded)"}}}
	var by [24][2]*analyze.Hour
	for i := range r.Hours {
		hr := &r.Hours[i]
		for j, role := range roles {
			if hr.Role == role && hr.Hour >= 0 && hr.Hour < 24 {
				by[hr.Hour][j] = hr
			}
		}
	}
	ymax, smax := 0.0, 0.0
	weight := policyWeight(r)
	for _, pair := range by {
		for _, hr := range pair {
			if hr != nil {
				ymax = math.Max(ymax, hr.Rate500)
				smax = math.Max(smax, hr.StagingShare)
			}
		}
	}
	pr, ps := newPlot(h, niceMax(ymax)), newPlot(h, niceMax(math.Max(smax, weight)))
	rate.yAxis(pr)
	staging.yAxis(ps)
	slot := (pr.x1 - pr.x0) / 24
	for _, c := range []*svgChart{&rate, &staging} {
		c.Grid = append(c.Grid, svgLine{X1: coord(pr.x0), Y1: coord(pr.y1), X2: coord(pr.x1), Y2: coord(pr.y1), Class: "axis"})
		for hour := range 24 {
			c.Texts = append(c.Texts, svgText{X: coord(pr.x0 + slot*(float64(hour)+0.5)), Y: coord(pr.y1 + 18), Anchor: "middle", Class: "tick", Text: twoDigits(hour)})
		}
	}
	bw := slot * 0.36
	for hour, pair := range by {
		peaks := 0
		for _, hr := range pair {
			if hr != nil {
				peaks = max(peaks, hr.PeakHours)
			}
		}
		if peaks > 0 {
			// Shade the hour in both charts: a share of 0 draws no bar.
			title := twoDigits(hour) + ":00: " + strconv.Itoa(peaks) + " peak hours detected"
			sx := coord(pr.x0 + slot*float64(hour))
			for _, c := range []*svgChart{&rate, &staging} {
				c.Shades = append(c.Shades, svgRect{X: sx, Y: coord(pr.y0), W: coord(slot), H: coord(pr.y1 - pr.y0), Class: "peakband", Title: title})
				c.Texts = append(c.Texts, svgText{X: coord(pr.x0 + slot*(float64(hour)+0.5)), Y: coord(pr.y0 - 8), Anchor: "middle", Class: "wlabel", Text: "peak"})
			}
		}
		for j, hr := range pair {
			if hr == nil || hr.ErrorPathRequests == 0 {
				continue
			}
			class := roleClass(roles[j])
			bx := pr.x0 + slot*float64(hour) + slot*0.12 + bw*float64(j)
			top := pr.y(hr.Rate500)
			title := roles[j] + " " + twoDigits(hour) + ":00: " + pct(hr.Rate500) + " 500 " + ciText(hr.Rate500CI95) +
				" (" + itoa(hr.ErrorPath500) + " of " + itoa(hr.ErrorPathRequests) + " error-path requests)"
			rate.Bars = append(rate.Bars, svgRect{X: coord(bx), Y: coord(top), W: coord(bw), H: coord(pr.y1 - top), Class: "bar " + class, Title: title})
			cx := coord(bx + bw/2)
			rate.Grid = append(rate.Grid, svgLine{X1: cx, Y1: coord(pr.y(hr.Rate500CI95[0])), X2: cx, Y2: coord(pr.y(hr.Rate500CI95[1])), Class: "whisker"})
		}
		var hr *analyze.Hour
		for _, x := range pair {
			if x != nil && (hr == nil || x.StagingShare > hr.StagingShare || x.PeakHours > hr.PeakHours) {
				hr = x
			}
		}
		if hr == nil {
			continue
		}
		bx := ps.x0 + slot*float64(hour) + slot*0.15
		top := ps.y(hr.StagingShare)
		title := twoDigits(hour) + ":00: staging got " + pct(hr.StagingShare) + " of requests"
		class := "bar k-staging"
		if hr.PeakHours > 0 {
			title += "; " + strconv.Itoa(hr.PeakHours) + " peak hours detected"
			class = "bar k-peak"
		}
		staging.Bars = append(staging.Bars, svgRect{X: coord(bx), Y: coord(top), W: coord(slot * 0.7), H: coord(ps.y1 - top), Class: class, Title: title})
	}
	if weight > 0 {
		wy := coord(ps.y(weight))
		staging.Grid = append(staging.Grid, svgLine{X1: coord(ps.x0), Y1: wy, X2: coord(ps.x1), Y2: wy, Class: "reference"})
		staging.Texts = append(staging.Texts, svgText{X: coord(ps.x1), Y: coord(ps.y(weight) - 5), Anchor: "end", Class: "tick", Text: "policy weight " + pct(weight)})
	}
	rate.Data = table{ID: "data-hours", Title: "Data: 500 share by hour of day",
		Cols: cols("Hour", ">Prod 500 share", ">Prod 95% CI", ">Staging 500 share", ">Staging 95% CI", ">Staging share")}
	for hour, pair := range by {
		if pair[0] == nil && pair[1] == nil {
			continue
		}
		row := []string{twoDigits(hour)}
		share := 0.0
		for _, hr := range pair {
			if hr == nil || hr.ErrorPathRequests == 0 {
				row = append(row, na, na)
				continue
			}
			row = append(row, pct(hr.Rate500), ciText(hr.Rate500CI95))
			share = math.Max(share, hr.StagingShare)
		}
		rate.Data.Rows = append(rate.Data.Rows, append(row, pct(share)))
	}
	return rate, staging
}

// policyWeight is the largest weight of an enabled weighted policy in
// any window (0 when none).
func policyWeight(r *analyze.Result) float64 {
	w := 0.0
	for _, win := range r.Windows {
		p := win.State.ContinuousDeployment
		if p.Enabled != nil && *p.Enabled && p.Weight != nil {
			w = math.Max(w, *p.Weight)
		}
	}
	return w
}

// typesChart draws the breakdown of each window × role's 500s by the
// values of one result-type field, as 100% stacked horizontal bars.
func typesChart(r *analyze.Result, id, field string, get func(analyze.Cell) map[string]int64) svgChart {
	var cells []analyze.Cell
	total := map[string]int64{}
	for _, c := range r.Cells {
		if c.Status500 == 0 {
			continue
		}
		cells = append(cells, c)
		for k, v := range get(c) {
			total[k] += v
		}
	}
	const rowH, labelW = 26, 150
	h := mTop + mBottom + rowH*max(1, len(cells))
	c := svgChart{ID: id, Title: "500s by " + field + ", per window × role",
		Desc: "Each bar is 100% of the cell's 500s; the number at its end is their count.", W: chartW, H: h}
	// The most frequent values get their own colour; the rest are "other".
	order := sortedCounts(total)
	class := map[string]string{}
	for i, k := range order {
		if i < typeClasses {
			class[k] = "k-t" + strconv.Itoa(i)
			c.Legend = append(c.Legend, legendItem{class[k], k})
		} else {
			class[k] = "k-other"
		}
	}
	if len(order) > typeClasses {
		c.Legend = append(c.Legend, legendItem{"k-other", "other"})
	}
	x0, x1 := float64(mLeft+labelW), float64(chartW-mRight-60)
	c.Data = table{ID: "data-" + id, Title: "Data: 500s by " + field, Cols: cols("Window", "Role", field, ">500s", ">Share")}
	for i, cell := range cells {
		y := float64(mTop + rowH*i)
		c.Texts = append(c.Texts, svgText{X: coord(x0 - 8), Y: coord(y + rowH*0.65), Anchor: "end", Class: "tick",
			Text: "W" + strconv.Itoa(cell.Window) + " " + cell.Role})
		m := get(cell)
		var n int64
		for _, v := range m {
			n += v
		}
		pos := x0
		for _, k := range sortedCounts(m) {
			v := m[k]
			wd := (x1 - x0) * float64(v) / float64(max(n, 1))
			title := "W" + strconv.Itoa(cell.Window) + " " + cell.Role + ": " + k + " " + itoa(v) + " of " + itoa(n) + " (" + pct(float64(v)/float64(n)) + ")"
			c.Bars = append(c.Bars, svgRect{X: coord(pos), Y: coord(y + 4), W: coord(wd), H: coord(rowH - 8), Class: "bar " + class[k], Title: title})
			c.Data.Rows = append(c.Data.Rows, []string{strconv.Itoa(cell.Window), cell.Role, k, itoa(v), pct(float64(v) / float64(n))})
			pos += wd
		}
		c.Texts = append(c.Texts, svgText{X: coord(x1 + 6), Y: coord(y + rowH*0.65), Anchor: "start", Class: "tick", Text: itoa(n)})
	}
	if len(cells) == 0 {
		c.Texts = append(c.Texts, svgText{X: coord(chartW / 2), Y: coord(mTop + rowH*0.65), Anchor: "middle", Class: "tick", Text: "No 500s."})
	}
	return c
}
