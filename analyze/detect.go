package analyze

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cflens/cflens/analyze/changepoint"
	"github.com/cflens/cflens/ingest/schema"
)

// DetectOptions tune change detection on a result's time series.
type DetectOptions struct {
	// Segmentation tunes the change-point search of every series.
	Segmentation changepoint.Options
	// A clock hour is a peak-hour candidate when staging got less than
	// PeakShareFactor times its usual share (the median over the 24 hours
	// either side) while at least PeakMinExpected staging requests were
	// expected (defaults 0.2 and 20). A run of such hours lasting at most
	// MaxPeakHours (default 6) with the usual share before and after is a
	// peak: CloudFront's own routing, not a configuration change.
	PeakShareFactor float64
	PeakMinExpected float64
	MaxPeakHours    int
	// Location is the time zone in which peak hours are described (UTC
	// when nil).
	Location *time.Location
}

// DefaultDetectOptions returns the defaults of Detect.
func DefaultDetectOptions() DetectOptions {
	return DetectOptions{PeakShareFactor: 0.2, PeakMinExpected: 20, MaxPeakHours: 6, Location: time.UTC}
}

// The series that Detect segments.
const (
	// SeriesErrorPath500 is the share of HTTP 500 among a role's
	// error-path requests: the signature of a custom error response
	// change.
	SeriesErrorPath500 = "error_path_500_share"
	// SeriesStagingShare is staging's share of all requests: the
	// continuous deployment policy enabled, disabled or re-weighted.
	SeriesStagingShare = "staging_share"
)

// Detection is what Detect found.
type Detection struct {
	Range  Range
	Bucket time.Duration
	// Method describes the segmentation in words.
	Method string
	// Series are the segmented series, in a fixed order.
	Series []DetectedSeries
	// Changes merges the changes of all series that fall together, in
	// time order.
	Changes []DetectedChange
	// Peaks are the recognised peak-hour runs, masked in every series.
	Peaks []DetectedPeak
}

// DetectedSeries is one segmented series.
type DetectedSeries struct {
	Name string
	// Role is the role whose 500 share it is; empty for the staging share.
	Role       string
	Dispersion float64
	Penalty    float64
	Effects    []Effect
}

// Effect is a change of one series.
type Effect struct {
	Series string
	Role   string
	// At is the estimated change time; [Low, High] its interval.
	At, Low, High time.Time
	// Before and After are the rates of the neighbouring segments.
	Before, After Proportion
	// Gain is twice the log-likelihood ratio of the change against
	// none (divided by the dispersion).
	Gain float64
}

// Describe says what changed, e.g. "production 500 share 0.0% → 15.2%".
func (e Effect) Describe() string {
	what := "staging share"
	if e.Series == SeriesErrorPath500 {
		what = e.Role + " 500 share"
	}
	return fmt.Sprintf("%s %s → %s", what, pct1(e.Before.Rate), pct1(e.After.Rate))
}

// Proportion is X of N with its 95% Wilson interval.
type Proportion struct {
	N, X int64
	Rate float64
	CI95 [2]float64
}

func proportion(x, n int64) Proportion {
	return Proportion{N: n, X: x, Rate: Rate(x, n), CI95: Wilson(x, n, z95)}
}

// DetectedChange is one instant at which behaviour changed, with the
// series that changed there.
type DetectedChange struct {
	// At and [Low, High] are those of the strongest effect.
	At, Low, High time.Time
	Effects       []Effect
}

// Roles lists the roles whose 500 share changed, and "policy" when
// staging's share of requests changed.
func (c DetectedChange) Roles() []string {
	var rs []string
	for _, e := range c.Effects {
		r := e.Role
		if e.Series == SeriesStagingShare {
			r = "policy"
		}
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	return rs
}

// DetectedPeak is a run of peak hours [From, To).
type DetectedPeak struct {
	From, To time.Time
	// Recurring is true when a peak on another day covers one of the
	// same hours of day.
	Recurring bool
	// Requests and Staging count the requests in the run; UsualShare is
	// staging's usual share around it.
	Requests, Staging int64
	UsualShare        float64
}

// Detect finds the instants at which behaviour changed in res's time
// series: the error-path 500 share of each role and staging's share of
// requests, each segmented with a binomial likelihood (see package
// changepoint). Peak hours (staging's share dropping to almost nothing
// for a few clock hours and coming back) are recognised first and left
// out of every series, so neither they nor the production 500 share
// inside them make changes.
func Detect(res *Result, opts DetectOptions) (*Detection, error) {
	if res.BucketSeconds <= 0 {
		return nil, fmt.Errorf("detect changes: the result has no time buckets")
	}
	def := DefaultDetectOptions()
	if opts.PeakShareFactor <= 0 {
		opts.PeakShareFactor = def.PeakShareFactor
	}
	if opts.PeakMinExpected <= 0 {
		opts.PeakMinExpected = def.PeakMinExpected
	}
	if opts.MaxPeakHours <= 0 {
		opts.MaxPeakHours = def.MaxPeakHours
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	bucket := time.Duration(res.BucketSeconds * float64(time.Second)).Round(time.Millisecond)
	d := &Detection{Range: res.Range, Bucket: bucket}
	seg := opts.Segmentation
	pf := seg.PenaltyFactor
	if pf <= 0 {
		pf = changepoint.DefaultPenaltyFactor
	}
	d.Method = fmt.Sprintf("binomial likelihood on %s buckets, PELT with a penalty of %s·ln(buckets) per change, likelihood scaled by the estimated overdispersion; change intervals hold 95%% of the profile likelihood; peak hours masked",
		bucket, trimFloat(pf))
	bms := bucket.Milliseconds()
	if len(res.Series.Points) == 0 || bms <= 0 {
		return d, nil
	}
	origin := floorDiv(res.Series.Points[0].Time.UnixMilli(), bms)
	end := origin
	for _, p := range res.Series.Points {
		b := floorDiv(p.Time.UnixMilli(), bms)
		origin = min(origin, b)
		end = max(end, b+1)
	}
	if !res.Range.From.IsZero() {
		origin = min(origin, floorDiv(res.Range.From.UnixMilli(), bms))
	}
	nb := int(end - origin)
	if nb > 50_000_000 {
		return nil, fmt.Errorf("detect changes: %d buckets of %s are too many; choose a wider --bucket", nb, bucket)
	}
	prod500 := make([]changepoint.Bin, nb)
	stg500 := make([]changepoint.Bin, nb)
	share := make([]changepoint.Bin, nb)
	for _, p := range res.Series.Points {
		i := int(floorDiv(p.Time.UnixMilli(), bms) - origin)
		switch p.Role {
		case schema.RoleProduction:
			prod500[i].N += p.ErrorPathRequests
			prod500[i].X += p.ErrorPath500
			share[i].N += p.Requests
		case schema.RoleStaging:
			stg500[i].N += p.ErrorPathRequests
			stg500[i].X += p.ErrorPath500
			share[i].N += p.Requests
			share[i].X += p.Requests
		}
	}
	timeOf := func(i int) time.Time { return time.UnixMilli((origin + int64(i)) * bms).UTC() }

	// Peak hours, on clock hours when buckets divide the hour.
	unit := int64(1)
	if hms := time.Hour.Milliseconds(); bms < hms && hms%bms == 0 {
		unit = hms / bms
	}
	d.Peaks = findPeaks(share, origin, unit, timeOf, opts)
	for _, pk := range d.Peaks {
		from := int(floorDiv(pk.From.UnixMilli(), bms) - origin)
		to := int(floorDiv(pk.To.UnixMilli(), bms) - origin)
		for i := max(0, from); i < min(nb, to); i++ {
			prod500[i], stg500[i], share[i] = changepoint.Bin{}, changepoint.Bin{}, changepoint.Bin{}
		}
	}

	for _, s := range []struct {
		name, role string
		bins       []changepoint.Bin
	}{
		{SeriesErrorPath500, schema.RoleProduction, prod500},
		{SeriesErrorPath500, schema.RoleStaging, stg500},
		{SeriesStagingShare, "", share},
	} {
		r := changepoint.Detect(s.bins, seg)
		ds := DetectedSeries{Name: s.name, Role: s.role, Dispersion: r.Dispersion, Penalty: r.Penalty}
		for k, c := range r.Changes {
			b, a := r.Segments[k], r.Segments[k+1]
			ds.Effects = append(ds.Effects, Effect{
				Series: s.name, Role: s.role,
				At: timeOf(c.Index), Low: timeOf(c.Low), High: timeOf(c.High),
				Before: proportion(b.X, b.N), After: proportion(a.X, a.N),
				Gain: c.Gain,
			})
		}
		d.Series = append(d.Series, ds)
	}
	d.Changes = mergeEffects(d.Series, bucket)
	return d, nil
}

// mergeEffects groups the effects of all series whose intervals overlap
// (or lie within two buckets) into changes.
func mergeEffects(series []DetectedSeries, bucket time.Duration) []DetectedChange {
	var all []Effect
	for _, s := range series {
		all = append(all, s.Effects...)
	}
	slices.SortStableFunc(all, func(a, b Effect) int { return a.At.Compare(b.At) })
	var out []DetectedChange
	var hullLo, hullHi time.Time
	for _, e := range all {
		if n := len(out); n > 0 && !e.Low.After(hullHi.Add(2*bucket)) && !e.High.Before(hullLo.Add(-2*bucket)) {
			c := &out[n-1]
			c.Effects = append(c.Effects, e)
			if e.Low.Before(hullLo) {
				hullLo = e.Low
			}
			if e.High.After(hullHi) {
				hullHi = e.High
			}
			continue
		}
		out = append(out, DetectedChange{Effects: []Effect{e}})
		hullLo, hullHi = e.Low, e.High
	}
	for i := range out {
		c := &out[i]
		best := c.Effects[0]
		for _, e := range c.Effects[1:] {
			if e.Gain > best.Gain {
				best = e
			}
		}
		c.At, c.Low, c.High = best.At, best.Low, best.High
	}
	slices.SortStableFunc(out, func(a, b DetectedChange) int { return a.At.Compare(b.At) })
	return out
}

// findPeaks recognises peak-hour runs in the staging share series.
func findPeaks(share []changepoint.Bin, origin, unit int64, timeOf func(int) time.Time, opts DetectOptions) []DetectedPeak {
	type hour struct {
		first      int // first bucket
		n, stg     int64
		low        bool
		shareUsual float64
	}
	var hours []hour
	for i := 0; i < len(share); {
		// Units are aligned on absolute time (clock hours).
		next := i + int(unit-floorMod(origin+int64(i), unit))
		var h hour
		h.first = i
		for ; i < min(next, len(share)); i++ {
			h.n += share[i].N
			h.stg += share[i].X
		}
		if h.n > 0 {
			hours = append(hours, h)
		}
	}
	unitLen := timeOf(int(unit)).Sub(timeOf(0))
	span := int(math.Round(float64(24*time.Hour) / float64(unitLen)))
	var buf []float64
	for k := range hours {
		buf = buf[:0]
		for j := max(0, k-span); j < min(len(hours), k+span+1); j++ {
			buf = append(buf, float64(hours[j].stg)/float64(hours[j].n))
		}
		slices.Sort(buf)
		usual := buf[len(buf)/2]
		h := &hours[k]
		h.shareUsual = usual
		h.low = usual*float64(h.n) >= opts.PeakMinExpected && float64(h.stg) < opts.PeakShareFactor*usual*float64(h.n)
	}
	maxLen := time.Duration(opts.MaxPeakHours) * time.Hour
	type run struct {
		a, b  int // hours[a:b]
		inner bool
	}
	var runs []run
	for k := 0; k < len(hours); {
		if !hours[k].low {
			k++
			continue
		}
		a := k
		for k < len(hours) && hours[k].low {
			k++
		}
		runs = append(runs, run{a, k, a > 0 && k < len(hours)})
	}
	var peaks []DetectedPeak
	var edge []DetectedPeak
	for _, r := range runs {
		from := timeOf(hours[r.a].first)
		last := hours[r.b-1]
		to := timeOf(last.first).Add(unitLen)
		if to.Sub(from) > maxLen {
			continue
		}
		p := DetectedPeak{From: from, To: to, UsualShare: hours[r.a].shareUsual}
		for _, h := range hours[r.a:r.b] {
			p.Requests += h.n
			p.Staging += h.stg
		}
		if r.inner {
			peaks = append(peaks, p)
		} else {
			edge = append(edge, p)
		}
	}
	loc := opts.Location
	hourSet := func(p DetectedPeak) map[int]bool {
		m := map[int]bool{}
		for t := p.From; t.Before(p.To); t = t.Add(time.Hour) {
			m[t.In(loc).Hour()] = true
		}
		return m
	}
	overlaps := func(p DetectedPeak, others []DetectedPeak) bool {
		hs := hourSet(p)
		for _, q := range others {
			if q.From.Equal(p.From) || q.To.Sub(p.From).Abs() < 12*time.Hour && q.From.Sub(p.From).Abs() < 12*time.Hour {
				continue // the same run or the same day
			}
			for h := range hourSet(q) {
				if hs[h] {
					return true
				}
			}
		}
		return false
	}
	for i := range peaks {
		peaks[i].Recurring = overlaps(peaks[i], peaks)
	}
	// A run at either end of the data cannot be seen to come back; it is
	// a peak only when inner peaks recur at its hours of day.
	for _, p := range edge {
		if overlaps(p, peaks) {
			p.Recurring = true
			peaks = append(peaks, p)
		}
	}
	slices.SortFunc(peaks, func(a, b DetectedPeak) int { return a.From.Compare(b.From) })
	return peaks
}

// Timeline returns the detected changes as a timeline: each change is
// marked Detected and sets nothing, so that the analysis cuts a window
// there and leaves its state unknown.
func (d *Detection) Timeline(dists Distributions) *Timeline {
	tl := &Timeline{Distributions: dists}
	for _, c := range d.Changes {
		ch := Change{At: c.At, Detected: true}
		if rs := c.Roles(); len(rs) == 1 && rs[0] != "policy" {
			ch.Role = rs[0]
		}
		var notes []string
		for _, e := range c.Effects {
			notes = append(notes, e.Describe())
		}
		ch.Note = "detected: " + strings.Join(notes, "; ")
		tl.Changes = append(tl.Changes, ch)
	}
	return tl
}

// WriteYAML writes the detected changes as a timeline that ReadTimeline
// reads ('cflens analyze --timeline'), each change preceded by comments
// giving its interval, the series that changed and their rates before
// and after with 95% intervals. The peaks and the method head the file.
func (d *Detection) WriteYAML(w io.Writer, dists Distributions, head []string) error {
	tl := d.Timeline(dists)
	y := yamlTimeline{Changes: []yamlChange{}}
	if dists != (Distributions{}) {
		y.Distributions = &yamlDistributions{Production: dists.Production, Staging: dists.Staging}
	}
	for _, c := range tl.Changes {
		y.Changes = append(y.Changes, yamlChange{At: c.At.UTC().Format(time.RFC3339Nano), Role: c.Role, Note: c.Note, Detected: true})
	}
	var doc yaml.Node
	if err := doc.Encode(&y); err != nil {
		return fmt.Errorf("encode detected timeline: %w", err)
	}
	var hc []string
	hc = append(hc, head...)
	span := "no requests to detect changes in"
	if !d.Range.From.IsZero() {
		span = fmt.Sprintf("from %s to %s", rfc(d.Range.From), rfc(d.Range.To))
	}
	hc = append(hc,
		fmt.Sprintf("Changes detected in the logs (%s): %s.", span, d.Method),
		"Detection finds that behaviour changed, not which setting: each change is marked",
		"detected and sets nothing, so the analysis cuts a window there with its state unknown.",
		"Replace detected: true with the setting when you know it.")
	for _, s := range d.Series {
		name := "staging share of requests"
		if s.Name == SeriesErrorPath500 {
			name = s.Role + " error-path 500 share"
		}
		hc = append(hc, fmt.Sprintf("series %s: %d changes, overdispersion %.2f, penalty %.1f", name, len(s.Effects), s.Dispersion, s.Penalty))
	}
	if len(d.Peaks) == 0 {
		hc = append(hc, "peak hours: none recognised")
	}
	for _, p := range d.Peaks {
		kind := "isolated"
		if p.Recurring {
			kind = "recurring daily"
		}
		hc = append(hc, fmt.Sprintf("peak hours %s to %s (%s): staging got %d of %d requests (usually %s); masked, not a change",
			rfc(p.From), rfc(p.To), kind, p.Staging, p.Requests, pct1(p.UsualShare)))
	}
	doc.HeadComment = strings.Join(hc, "\n")
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "changes" {
			continue
		}
		for k, item := range root.Content[i+1].Content {
			item.HeadComment = d.Changes[k].comment()
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encode detected timeline: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode detected timeline: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write detected timeline: %w", err)
	}
	return nil
}

func (c DetectedChange) comment() string {
	lines := []string{fmt.Sprintf("change at %s, 95%% interval %s to %s; affects %s",
		rfc(c.At), rfc(c.Low), rfc(c.High), strings.Join(c.Roles(), ", "))}
	for _, e := range c.Effects {
		n := "requests"
		if e.Series == SeriesErrorPath500 {
			n = "error-path requests"
		}
		lines = append(lines, fmt.Sprintf("  %s at %s (%s to %s): before %s [%s, %s] of %d %s, after %s [%s, %s] of %d; LR %.1f",
			e.Describe(), rfc(e.At), rfc(e.Low), rfc(e.High),
			pct1(e.Before.Rate), pct1(e.Before.CI95[0]), pct1(e.Before.CI95[1]), e.Before.N, n,
			pct1(e.After.Rate), pct1(e.After.CI95[0]), pct1(e.After.CI95[1]), e.After.N, e.Gain))
	}
	return strings.Join(lines, "\n")
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func pct1(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

// detectedLabel starts the label of a window cut at a detected change.
const detectedLabel = "detected window: "

// MarkDetected records in res that its windows were detected: every
// window is marked, WindowsSource is "detected", and a warning says so
// in every report format.
func MarkDetected(res *Result, d *Detection) {
	res.WindowsSource = "detected"
	for i := range res.Windows {
		w := &res.Windows[i]
		w.Detected = true
		if !strings.HasPrefix(w.Label, detectedLabel) {
			w.Label = detectedLabel + w.Label
		}
	}
	res.Warnings = append(res.Warnings, fmt.Sprintf(
		"no timeline was given: the %d windows were cut at %d changes detected in the logs themselves (500 share per role and staging share of requests); their configuration states are unknown (?)",
		len(res.Windows), len(d.Changes)))
}

// Comparison sets detected changes beside the recorded ones.
type Comparison struct {
	Tolerance time.Duration
	Recorded  []RecordedMatch
	// Unexplained are the detected changes that no recorded change lies
	// near (within the tolerance or the change's interval).
	Unexplained []DetectedChange
}

// RecordedMatch is one recorded change (a window boundary) and the
// nearest detected change.
type RecordedMatch struct {
	At time.Time
	// From and To are the labels of the states before and after.
	From, To string
	// Nearest is the nearest detected change (nil when none); Lag its
	// time minus At; Matched tells whether it explains the recorded
	// change.
	Nearest *DetectedChange
	Lag     time.Duration
	Matched bool
}

func explains(at time.Time, c DetectedChange, tol time.Duration) bool {
	return c.At.Sub(at).Abs() <= tol || (!at.Before(c.Low) && !at.After(c.High))
}

// CompareDetected compares the window boundaries of res (the recorded
// changes of its timeline) with the detected changes: for each recorded
// change the nearest detected one and the lag (configuration takes
// minutes to reach the edge, and cached error responses outlive a change
// by their TTL), and each detected change that no recorded change within
// tol explains.
func CompareDetected(res *Result, d *Detection, tol time.Duration) Comparison {
	cmp := Comparison{Tolerance: tol}
	var recorded []time.Time
	for i := 1; i < len(res.Windows); i++ {
		w := res.Windows[i]
		recorded = append(recorded, w.From)
		m := RecordedMatch{At: w.From, From: res.Windows[i-1].Label, To: w.Label}
		for k := range d.Changes {
			c := &d.Changes[k]
			if m.Nearest == nil || c.At.Sub(w.From).Abs() < m.Lag.Abs() {
				m.Nearest, m.Lag = c, c.At.Sub(w.From)
			}
		}
		if m.Nearest != nil {
			m.Matched = explains(w.From, *m.Nearest, tol)
		}
		cmp.Recorded = append(cmp.Recorded, m)
	}
	for _, c := range d.Changes {
		ok := false
		for _, at := range recorded {
			ok = ok || explains(at, c, tol)
		}
		if !ok {
			cmp.Unexplained = append(cmp.Unexplained, c)
		}
	}
	return cmp
}

// Report returns the comparison as a result reports it.
func (c Comparison) Report() *DetectedComparison {
	out := &DetectedComparison{
		ToleranceSeconds: c.Tolerance.Seconds(),
		Recorded:         []RecordedComparison{},
		Unexplained:      []ChangeSummary{},
	}
	for _, m := range c.Recorded {
		r := RecordedComparison{At: m.At.UTC(), From: m.From, To: m.To, Matched: m.Matched}
		if m.Nearest != nil {
			s := m.Nearest.summary()
			lag := m.Lag.Seconds()
			r.Nearest, r.LagSeconds = &s, &lag
		}
		out.Recorded = append(out.Recorded, r)
	}
	for _, u := range c.Unexplained {
		out.Unexplained = append(out.Unexplained, u.summary())
	}
	return out
}

func (c DetectedChange) summary() ChangeSummary {
	s := ChangeSummary{At: c.At.UTC(), Low: c.Low.UTC(), High: c.High.UTC(), Effects: []EffectReport{}}
	for _, e := range c.Effects {
		s.Effects = append(s.Effects, EffectReport{
			Series: e.Series, Role: e.Role,
			Before: e.Before.Rate, BeforeCI95: e.Before.CI95,
			After: e.After.Rate, AfterCI95: e.After.CI95,
			Text: e.Describe(),
		})
	}
	return s
}

// Lines describes the comparison, one line per recorded change and per
// unexplained detected change.
func (c Comparison) Lines() []string {
	lines := []string{fmt.Sprintf("Compared with the recorded timeline (a detected change explains a recorded one within %s or its interval):", c.Tolerance)}
	if len(c.Recorded) == 0 {
		lines = append(lines, "  no recorded change inside the data")
	}
	for _, m := range c.Recorded {
		s := fmt.Sprintf("  recorded %s (%s → %s): ", rfc(m.At), m.From, m.To)
		switch {
		case m.Nearest == nil:
			s += "no detected change"
		case m.Matched:
			s += fmt.Sprintf("detected %s, lag %s", rfc(m.Nearest.At), FormatLag(m.Lag))
		default:
			s += fmt.Sprintf("not detected (nearest detected change %s, lag %s)", rfc(m.Nearest.At), FormatLag(m.Lag))
		}
		lines = append(lines, s)
	}
	for _, u := range c.Unexplained {
		var what []string
		for _, e := range u.Effects {
			what = append(what, e.Describe())
		}
		lines = append(lines, fmt.Sprintf("  detected %s (%s): no recorded change explains it", rfc(u.At), strings.Join(what, "; ")))
	}
	return lines
}

// FormatLag writes a signed duration, "+" before a lag that is not
// negative, as the comparison tables show lags.
func FormatLag(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
