package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// hourWindow is one clock hour of one window: a clock hour cut by a
// change falls in two windows.
type hourWindow struct {
	hour   int64
	window int32
}

// localHour is a local clock hour: its start and its hour of day and day
// of week in the result's time zone.
type localHour struct {
	start     time.Time
	hod, wday int
}

// localHour returns the local clock hour numbered h (see fineKey.hour):
// the one that holds the last millisecond of UTC hour h.
func (a *analysis) localHour(h int64) localHour {
	if lh, ok := a.hours[h]; ok {
		return lh
	}
	t := time.UnixMilli((h+1)*3600_000 - 1).In(a.opts.Location)
	start := t.Add(-time.Duration(t.Minute())*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
	lh := localHour{start: start.UTC(), hod: t.Hour(), wday: int(t.Weekday())}
	a.hours[h] = lh
	return lh
}

// policyWindows sets, per window index, the staging weight of an enabled
// weighted policy (or -1) and whether the policy is known to be enabled.
func (a *analysis) policyWindows() {
	a.weights = make([]float64, len(a.windows))
	a.enabled = make([]bool, len(a.windows))
	for i, w := range a.windows {
		a.weights[i] = -1
		if wt, ok := w.State.PolicyWeight(); ok {
			a.weights[i] = wt
		}
		p := w.State.ContinuousDeployment.Enabled
		a.enabled[i] = p != nil && *p
	}
}

// inPeak reports whether the rows of a fine key fall in a peak hour.
func (a *analysis) inPeak(k fineKey) bool {
	return a.weights[k.window] > 0 && a.peak[hourWindow{k.hour, k.window}]
}

// detectPeaks finds the clock hours of an enabled weighted policy in
// which staging got (almost) none of the traffic.
func (a *analysis) detectPeaks(res *Result) {
	g := a.global
	a.peak = map[hourWindow]bool{}
	perHour := map[hourWindow]*[numRoles]int64{}
	for i, k := range g.fine.keys {
		if a.weights[k.window] <= 0 {
			continue
		}
		hw := hourWindow{k.hour, k.window}
		x := perHour[hw]
		if x == nil {
			x = &[numRoles]int64{}
			perHour[hw] = x
		}
		x[k.role] += g.fine.vals[i].req
	}
	res.PeakHours.Rule = fmt.Sprintf("a clock hour of an enabled weighted policy with weight w where staging got less than %s·w of the requests, with at least %s requests expected on staging",
		strconv.FormatFloat(a.opts.PeakShareFactor, 'f', -1, 64), strconv.FormatFloat(a.opts.PeakMinExpected, 'f', -1, 64))
	res.PeakHours.Hours = []PeakHour{}
	for k, x := range perHour {
		w := a.weights[k.window]
		n := x[roleProd] + x[roleStaging]
		share := Rate(x[roleStaging], n)
		if float64(n)*w >= a.opts.PeakMinExpected && share < a.opts.PeakShareFactor*w {
			a.peak[k] = true
			from := a.localHour(k.hour).start
			res.PeakHours.Hours = append(res.PeakHours.Hours, PeakHour{
				From: from, To: from.Add(time.Hour), Window: res.Windows[int(k.window)-a.off].ID,
				Requests: n, Staging: x[roleStaging], StagingShare: share, ExpectedShare: w,
			})
		}
	}
	slices.SortFunc(res.PeakHours.Hours, func(x, y PeakHour) int {
		if c := x.From.Compare(y.From); c != 0 {
			return c
		}
		return cmp.Compare(x.Window, y.Window)
	})
}

// peakClockHours returns the distinct clock hours among the peak hours
// (an hour cut by a change is listed once per window).
func peakClockHours(ps []PeakHour) []time.Time {
	var hs []time.Time
	for _, p := range ps {
		if !slices.ContainsFunc(hs, p.From.Equal) {
			hs = append(hs, p.From)
		}
	}
	return hs
}

// peakRates compares the 500 share inside and outside the peak hours,
// while an enabled weighted policy applied, overall and per window.
func (a *analysis) peakRates(res *Result, errFine *fineSet) {
	g := a.global
	type inRole struct {
		in   bool
		role uint8
	}
	rates := sumBy(&g.fine, errFine, func(k fineKey) inRole {
		if a.weights[k.window] <= 0 {
			return inRole{role: roleNone}
		}
		return inRole{a.inPeak(k), k.role}
	})
	res.PeakHours.Inside, res.PeakHours.Outside = []RateGroup{}, []RateGroup{}
	for r := roleProd; r < numRoles; r++ {
		for _, in := range []bool{true, false} {
			rg := rateGroup(r, rates[inRole{in, r}])
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
		if a.weights[k.window] <= 0 {
			return winIn{window: -1}
		}
		return winIn{k.window, a.inPeak(k), k.role}
	})
	res.PeakHours.ByWindow = []WindowRateGroup{}
	for wi := range res.Windows {
		if a.weights[wi+a.off] <= 0 {
			continue
		}
		for r := roleProd; r < numRoles; r++ {
			for _, in := range []bool{false, true} {
				s := byWin[winIn{int32(wi + a.off), in, r}]
				if s == nil {
					continue
				}
				res.PeakHours.ByWindow = append(res.PeakHours.ByWindow, WindowRateGroup{Window: res.Windows[wi].ID, Peak: in, RateGroup: rateGroup(r, s)})
			}
		}
	}
}

func rateGroup(r uint8, s *groupCounts) RateGroup {
	if s == nil {
		s = &groupCounts{}
	}
	rg := RateGroup{Role: roleNames[r], Requests: s.all.req, ErrorPathRequests: s.err.req, ErrorPath500: s.err.s500}
	rg.Rate500, rg.Rate500CI95 = s.rate500()
	return rg
}

// hoursOfDay fills the hours of day and the days of the week.
func (a *analysis) hoursOfDay(res *Result, errFine *fineSet) {
	g := a.global
	anyPolicy := slices.Contains(a.enabled, true)
	inShare := func(k fineKey) bool { return !anyPolicy || a.enabled[k.window] }
	if !anyPolicy && g.rows > 0 {
		res.Warnings = append(res.Warnings, "no window is known to have the continuous deployment policy enabled: the staging share of hours and days of the week is over all rows")
	}
	peaksByHourOfDay := [24]int{}
	for _, h := range peakClockHours(res.PeakHours.Hours) {
		peaksByHourOfDay[h.In(a.opts.Location).Hour()]++
	}

	type rk struct {
		role uint8
		slot int
	}
	hours := sumBy(&g.fine, errFine, func(k fineKey) rk { return rk{k.role, a.localHour(k.hour).hod} })
	days := sumBy(&g.fine, errFine, func(k fineKey) rk { return rk{k.role, a.localHour(k.hour).wday} })
	var shareH [24][numRoles]int64
	var shareD [7][numRoles]int64
	for i, k := range g.fine.keys {
		if !inShare(k) {
			continue
		}
		lh := a.localHour(k.hour)
		shareH[lh.hod][k.role] += g.fine.vals[i].req
		shareD[lh.wday][k.role] += g.fine.vals[i].req
	}
	share := func(v [numRoles]int64) float64 { return Rate(v[roleStaging], v[roleProd]+v[roleStaging]) }
	res.Hours, res.Weekdays = []Hour{}, []Weekday{}
	for r := roleProd; r < numRoles; r++ {
		for h := range 24 {
			s := hours[rk{r, h}]
			if s == nil {
				s = &groupCounts{}
			}
			hr := Hour{Role: roleNames[r], Hour: h, Requests: s.all.req, ErrorPathRequests: s.err.req,
				Status500: s.all.s500, ErrorPath500: s.err.s500, StagingShare: share(shareH[h]), PeakHours: peaksByHourOfDay[h]}
			hr.Rate500, hr.Rate500CI95 = s.rate500()
			res.Hours = append(res.Hours, hr)
		}
		for d := range 7 {
			s := days[rk{r, d}]
			if s == nil {
				s = &groupCounts{}
			}
			wd := Weekday{Role: roleNames[r], Day: d, Name: weekdayNames[d], Requests: s.all.req, ErrorPathRequests: s.err.req,
				Status500: s.all.s500, ErrorPath500: s.err.s500, StagingShare: share(shareD[d])}
			wd.Rate500, wd.Rate500CI95 = s.rate500()
			res.Weekdays = append(res.Weekdays, wd)
		}
	}
}

func (a *analysis) buildSeries(res *Result, errFine *fineSet) {
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
	slices.SortFunc(keys, func(x, y br) int {
		if c := cmp.Compare(x.bucket, y.bucket); c != 0 {
			return c
		}
		return cmp.Compare(x.role, y.role)
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
