package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cflens/cflens/analyze/changepoint"
	"github.com/cflens/cflens/ingest/schema"
)

// trueChange is a change a simulated scenario makes.
type trueChange struct {
	series, role string
	at           time.Time
	label        string
	// required marks the changes the detection promises to find: an
	// effect of at least 5 points on a role with at least 200 error-path
	// requests per hour, or a change of the policy weight.
	required bool
}

// seedStats collects the figures of many seeds.
type seedStats struct {
	seeds       int
	found       map[string]int // within ±2 buckets
	covered     map[string]int // the interval of the matched effect holds the true time
	lags        []float64      // |lag| in buckets of the required changes found
	falsePer    []int          // false changes per seed
	peaksPerRun []int
}

func runSeeds(t *testing.T, sc *simScenario, truth []trueChange, seeds int) *seedStats {
	t.Helper()
	return runSeedsWith(t, sc, truth, seeds, DefaultDetectOptions())
}

func runSeedsWith(t *testing.T, sc *simScenario, truth []trueChange, seeds int, opts DetectOptions) *seedStats {
	t.Helper()
	st := &seedStats{seeds: seeds, found: map[string]int{}, covered: map[string]int{}}
	for seed := range uint64(seeds) {
		res := sc.result(seed + 1)
		d, err := Detect(res, opts)
		if err != nil {
			t.Fatal(err)
		}
		st.peaksPerRun = append(st.peaksPerRun, len(d.Peaks))
		for _, tc := range truth {
			var best *Effect
			for _, s := range d.Series {
				if s.Name != tc.series || s.Role != tc.role {
					continue
				}
				for i := range s.Effects {
					e := &s.Effects[i]
					if best == nil || e.At.Sub(tc.at).Abs() < best.At.Sub(tc.at).Abs() {
						best = e
					}
				}
			}
			if best == nil {
				continue
			}
			lag := best.At.Sub(tc.at)
			if lag.Abs() <= 2*sc.bucket {
				st.found[tc.label]++
				if tc.required {
					st.lags = append(st.lags, float64(lag.Abs())/float64(sc.bucket))
				}
			}
			if !tc.at.Before(best.Low) && !tc.at.After(best.High) {
				st.covered[tc.label]++
			}
		}
		// A detected change is false when no true change lies within an
		// hour of it.
		nFalse := 0
		for _, c := range d.Changes {
			explained := false
			for _, tc := range truth {
				if c.At.Sub(tc.at).Abs() <= time.Hour || (!tc.at.Before(c.Low) && !tc.at.After(c.High)) {
					explained = true
				}
			}
			if !explained {
				nFalse++
			}
		}
		st.falsePer = append(st.falsePer, nFalse)
	}
	return st
}

func (st *seedStats) atMostOneFalse() float64 {
	n := 0
	for _, f := range st.falsePer {
		if f <= 1 {
			n++
		}
	}
	return float64(n) / float64(st.seeds)
}

func (st *seedStats) falsePerWeek(hours int) float64 {
	var sum int
	for _, f := range st.falsePer {
		sum += f
	}
	return float64(sum) / float64(st.seeds) / (float64(hours) / (7 * 24))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

var simStart = time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)

func simAt(day, hour, minute int) time.Time {
	return simStart.Add(time.Duration(day)*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

var defaultProfile = [24]float64{
	0.45, 0.35, 0.30, 0.25, 0.25, 0.30, 0.45, 0.70,
	0.90, 1.00, 1.05, 1.10, 1.15, 1.10, 1.05, 1.10,
	1.25, 1.50, 1.95, 2.10, 2.00, 1.40, 0.90, 0.60,
}

// changingScenario is a week of the motivating case's changes, each
// role with at least 200 error-path requests per hour on average, daily
// peaks 18:00–21:00 UTC, and the policy weight cut from 15% to 5%.
func changingScenario() (*simScenario, []trueChange) {
	const bucket = 5 * time.Minute
	tProdOnly, tStgOnly, tBoth, tWeight, tProd5, tStg5 := simAt(1, 9, 35), simAt(2, 14, 10), simAt(3, 10, 45), simAt(4, 16, 20), simAt(5, 8, 5), simAt(6, 12, 30)
	prod := steps([]time.Time{tProdOnly, tStgOnly, tBoth, tProd5}, []float64{0, 0, 0.13, 0.15, 0.20})
	stg := steps([]time.Time{tProdOnly, tStgOnly, tBoth, tStg5}, []float64{0, 0.47, 0, 0.83, 0.88})
	sc := &simScenario{
		start: simStart, hours: 7 * 24, bucket: bucket,
		// 2000 error-path requests per hour: at a 15% weight staging gets
		// 300, at 5% 100 (days 5 and 6).
		reqPerHour: 25000, errShare: 0.08,
		weight: steps([]time.Time{tWeight}, []float64{0.15, 0.05}),
		p500: func(role string, t time.Time) float64 {
			if role == schema.RoleStaging {
				return stg(t)
			}
			return prod(t)
		},
		peakHours: []int{18, 19, 20},
	}
	truth := []trueChange{
		{SeriesErrorPath500, schema.RoleStaging, tProdOnly, "staging 500 0% → 47%", true},
		{SeriesErrorPath500, schema.RoleProduction, tStgOnly, "production 500 0% → 13%", true},
		{SeriesErrorPath500, schema.RoleStaging, tStgOnly, "staging 500 47% → 0%", true},
		{SeriesErrorPath500, schema.RoleProduction, tBoth, "production 500 13% → 15%", false},
		{SeriesErrorPath500, schema.RoleStaging, tBoth, "staging 500 0% → 83%", true},
		{SeriesStagingShare, "", tWeight, "staging share 15% → 5%", true},
		{SeriesErrorPath500, schema.RoleProduction, tProd5, "production 500 15% → 20%", false},
		{SeriesErrorPath500, schema.RoleStaging, tStg5, "staging 500 83% → 88% (100/h)", false},
	}
	return sc, truth
}

func TestDetectSimulatedChanges(t *testing.T) {
	sc, truth := changingScenario()
	const seeds = 100
	st := runSeeds(t, sc, truth, seeds)
	for _, tc := range truth {
		promise := ""
		if tc.required {
			promise = "(required ≥ 90%)"
		}
		t.Logf("%-32s found ±2 buckets %3d%%  interval covers %3d%%  %s", tc.label, 100*st.found[tc.label]/seeds, 100*st.covered[tc.label]/seeds, promise)
		if tc.required && (st.found[tc.label] < seeds*9/10 || st.covered[tc.label] < seeds*9/10) {
			t.Errorf("%s: found within ±2 buckets in %d%% and covered in %d%% of seeds, want ≥ 90%% each",
				tc.label, 100*st.found[tc.label]/seeds, 100*st.covered[tc.label]/seeds)
		}
	}
	t.Logf("median |lag| of the required changes %.1f buckets; false changes per week %.2f; seeds with ≤ 1 false change %.0f%%",
		median(st.lags), st.falsePerWeek(sc.hours), 100*st.atMostOneFalse())
	if st.atMostOneFalse() < 0.9 {
		t.Errorf("%.0f%% of seeds with at most one false change, want ≥ 90%%", 100*st.atMostOneFalse())
	}
	for i, n := range st.peaksPerRun {
		if n != 7 {
			t.Errorf("seed %d: %d peaks recognised, want 7", i+1, n)
		}
	}
}

// stationaryScenario is a week of the motivating case with custom errors
// on both distributions and nothing changed, at the default volume
// (2000 requests per hour, 8% on error paths), with daily peaks
// 18:00–21:00 UTC in which production gets no 500s.
func stationaryScenario() *simScenario {
	return &simScenario{
		start: simStart, hours: 7 * 24, bucket: 5 * time.Minute,
		reqPerHour: 2000, profile: defaultProfile, errShare: 0.08,
		weight: func(time.Time) float64 { return 0.15 },
		p500: func(role string, _ time.Time) float64 {
			if role == schema.RoleStaging {
				return 0.83
			}
			return 0.15
		},
		peakHours: []int{18, 19, 20},
	}
}

// TestDetectStationary checks the calibration of the penalty: a week
// without any change, peaks included, gives at most one false change in
// at least 90% of seeds, and every peak is recognised.
func TestDetectStationary(t *testing.T) {
	for _, tc := range []struct {
		name   string
		adjust func(*simScenario)
	}{
		{"default volume with peaks", func(*simScenario) {}},
		{"overdispersed 500 share", func(s *simScenario) { s.reqPerHour *= 10; s.jitter = 0.06 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := stationaryScenario()
			tc.adjust(sc)
			const seeds = 100
			st := runSeeds(t, sc, nil, seeds)
			t.Logf("false changes per week %.2f; seeds with at most one %.0f%%", st.falsePerWeek(sc.hours), 100*st.atMostOneFalse())
			if st.atMostOneFalse() < 0.9 {
				t.Errorf("%.0f%% of seeds with at most one false change, want ≥ 90%%", 100*st.atMostOneFalse())
			}
			for i, n := range st.peaksPerRun {
				if n != 7 {
					t.Errorf("seed %d: %d peaks recognised, want 7", i+1, n)
				}
			}
		})
	}
}

// TestDetectFigures measures, for one change of the production 500
// share in three days of tallies at 5-minute buckets, how often it is
// found within ±2 buckets, how often its interval holds the true time,
// and the median lag, by size of the change and error-path volume; it
// prints the table of the README. It asserts the promise: a change of
// at least 5 points from or to no 500s (custom error responses switched)
// with at least 200 error-path requests per hour is found within ±2
// buckets, its interval holding the true time, in ≥ 90% of seeds. Changes
// between two non-zero shares need more requests to be placed that
// closely; their figures are printed, not asserted.
// oneChange is three days of 5-minute buckets, no staging, in which
// production's error-path 500 share goes from one share to another at
// change, with perHour error-path requests per hour; label names it.
func oneChange(change time.Time, from, to, perHour float64) (sc *simScenario, label string) {
	sc = &simScenario{
		start: simStart, hours: 3 * 24, bucket: 5 * time.Minute,
		reqPerHour: perHour / 0.08, errShare: 0.08,
		weight: func(time.Time) float64 { return 0 },
		p500: func(_ string, tm time.Time) float64 {
			if tm.Before(change) {
				return from
			}
			return to
		},
	}
	return sc, fmt.Sprintf("%.0f%% → %.0f%%", 100*from, 100*to)
}

func TestDetectFigures(t *testing.T) {
	const seeds = 100
	change := simAt(1, 13, 35)
	cells := []struct {
		from, to float64
		perHour  float64
		promise  bool
	}{
		{0, 0.05, 200, true}, {0.05, 0, 200, true}, {0, 0.13, 200, true}, {0.47, 0, 200, true}, {0.15, 0.83, 200, false},
		{0.10, 0.15, 200, false}, {0.10, 0.15, 1000, false}, {0.10, 0.15, 5000, false}, {0.50, 0.55, 5000, false},
	}
	t.Logf("| 500 share | error-path requests/h | found ±2 buckets | interval covers | median lag (buckets) | false changes/week |")
	t.Logf("|---|---|---|---|---|---|")
	for _, c := range cells {
		sc, label := oneChange(change, c.from, c.to, c.perHour)
		truth := []trueChange{{SeriesErrorPath500, schema.RoleProduction, change, label, c.promise}}
		st := runSeeds(t, sc, truth, seeds)
		found, covered := 100*st.found[label]/seeds, 100*st.covered[label]/seeds
		t.Logf("| %s | %g | %d%% | %d%% | %.0f | %.2f |", label, c.perHour, found, covered, median(st.lags), st.falsePerWeek(sc.hours))
		if c.promise && (found < 90 || covered < 90) {
			t.Errorf("%s at %g/h: found %d%%, covered %d%%, want ≥ 90%% each", label, c.perHour, found, covered)
		}
	}
}

// TestPenaltyCalibration measures the false changes of a stationary week
// (default volume, daily peaks) against the penalty factor, and of an
// overdispersed week with the dispersion held at 1: the figures behind
// the default of 3·ln(n) and the quasi-likelihood scaling.
func TestPenaltyCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("many seeds")
	}
	const seeds = 50
	prev := -1.0
	for _, f := range []float64{1, 1.5, 2, 3} {
		opts := DefaultDetectOptions()
		opts.Segmentation.PenaltyFactor = f
		sc := stationaryScenario()
		st := runSeedsWith(t, sc, nil, seeds, opts)
		fpw := st.falsePerWeek(sc.hours)
		t.Logf("penalty %g·ln(n): false changes per week %.2f, seeds with at most one %.0f%%", f, fpw, 100*st.atMostOneFalse())
		if prev >= 0 && fpw > prev+0.1 {
			t.Errorf("penalty %g gives more false changes (%.2f) than a lower one (%.2f)", f, fpw, prev)
		}
		prev = fpw
		if f == changepoint.DefaultPenaltyFactor && st.atMostOneFalse() < 0.9 {
			t.Errorf("default penalty: %.0f%% of seeds with at most one false change, want ≥ 90%%", 100*st.atMostOneFalse())
		}
	}
	sc := stationaryScenario()
	sc.reqPerHour *= 10
	sc.jitter = 0.06
	opts := DefaultDetectOptions()
	opts.Segmentation.Dispersion = 1
	st := runSeedsWith(t, sc, nil, seeds, opts)
	est := runSeedsWith(t, sc, nil, seeds, DefaultDetectOptions())
	t.Logf("overdispersed week: false changes per week %.2f with the dispersion held at 1, %.2f estimated", st.falsePerWeek(sc.hours), est.falsePerWeek(sc.hours))
	if st.falsePerWeek(sc.hours) <= 1 || est.atMostOneFalse() < 0.9 {
		t.Errorf("overdispersion: %.2f false changes per week unscaled (want > 1: the scaling must matter), %.0f%% of seeds with at most one when scaled (want ≥ 90%%)",
			st.falsePerWeek(sc.hours), 100*est.atMostOneFalse())
	}
}

// TestDetectPolicyDisabled checks that the policy switched off for half
// a day (staging's share at zero far longer than a peak) is a change,
// not a peak, while the daily peaks still are.
func TestDetectPolicyDisabled(t *testing.T) {
	sc := stationaryScenario()
	off, on := simAt(3, 9, 25), simAt(3, 21, 40)
	sc.weight = steps([]time.Time{off, on}, []float64{0.15, 0, 0.15})
	truth := []trueChange{
		{SeriesStagingShare, "", off, "policy disabled", true},
		{SeriesStagingShare, "", on, "policy enabled", true},
	}
	const seeds = 20
	st := runSeeds(t, sc, truth, seeds)
	for _, tc := range truth {
		if st.found[tc.label] < seeds*9/10 || st.covered[tc.label] < seeds*9/10 {
			t.Errorf("%s: found in %d and covered in %d of %d seeds", tc.label, st.found[tc.label], st.covered[tc.label], seeds)
		}
	}
	for i, n := range st.peaksPerRun {
		// The peak of day 3 falls while the policy is off: six remain.
		if n != 6 {
			t.Errorf("seed %d: %d peaks, want 6", i+1, n)
		}
	}
	if st.atMostOneFalse() < 0.9 {
		t.Errorf("%.0f%% of seeds with at most one false change", 100*st.atMostOneFalse())
	}
}
