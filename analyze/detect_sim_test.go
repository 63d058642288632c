package analyze

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/cflens/cflens/ingest/schema"
)

// simScenario describes per-bucket tallies to draw directly, without
// generating log lines: enough to run many seeds of the detection.
type simScenario struct {
	start  time.Time
	hours  int
	bucket time.Duration
	// reqPerHour is the mean of all requests per hour (both roles),
	// scaled by profile (by UTC hour of day, relative to its mean; flat
	// when all zero).
	reqPerHour float64
	profile    [24]float64
	// errShare is the share of error-path requests.
	errShare float64
	// weight gives staging's share at t, outside peaks.
	weight func(t time.Time) float64
	// p500 gives the 500 share of error-path requests of a role at t.
	p500 func(role string, t time.Time) float64
	// peakHours are UTC hours of day in which staging gets nothing and
	// production's 500 share is peakP500.
	peakHours []int
	peakP500  float64
	// jitter, when positive, draws each bucket's 500 share around
	// p500 with this standard deviation: extra-binomial variation.
	jitter float64
}

func (s *simScenario) isPeak(t time.Time) bool {
	for _, h := range s.peakHours {
		if t.Hour() == h {
			return true
		}
	}
	return false
}

// binomial draws from Binomial(n, p): by skipping geometric gaps when
// few successes (or failures) are expected, by the normal approximation
// otherwise.
func binomial(r *rand.Rand, n int64, p float64) int64 {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if p > 0.5 {
		return n - binomial(r, n, 1-p)
	}
	mean := float64(n) * p
	if mean*(1-p) > 40 {
		x := math.Round(mean + math.Sqrt(mean*(1-p))*r.NormFloat64())
		return int64(min(float64(n), max(0, x)))
	}
	lq := math.Log1p(-p)
	var k, pos int64
	for {
		pos += int64(math.Floor(math.Log(1-r.Float64())/lq)) + 1
		if pos > n {
			return k
		}
		k++
	}
}

func poisson(r *rand.Rand, mean float64) int64 {
	if mean > 50 {
		return int64(max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), int64(0), 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// result draws the tallies of one seed as the Series of a Result.
func (s *simScenario) result(seed uint64) *Result {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var mean float64
	for _, v := range s.profile {
		mean += v / 24
	}
	end := s.start.Add(time.Duration(s.hours) * time.Hour)
	res := &Result{
		Range:         Range{From: s.start, To: end},
		BucketSeconds: s.bucket.Seconds(),
	}
	perBucket := s.reqPerHour * s.bucket.Hours()
	for t := s.start; t.Before(end); t = t.Add(s.bucket) {
		m := perBucket
		if mean > 0 {
			m *= s.profile[t.Hour()] / mean
		}
		n := poisson(r, m)
		w := s.weight(t)
		peak := s.isPeak(t)
		if peak {
			w = 0
		}
		stg := binomial(r, n, w)
		for _, role := range []string{schema.RoleProduction, schema.RoleStaging} {
			req := n - stg
			if role == schema.RoleStaging {
				req = stg
			}
			if req == 0 {
				continue
			}
			p := s.p500(role, t)
			if peak && role == schema.RoleProduction {
				p = s.peakP500
			}
			if s.jitter > 0 {
				p = min(1, max(0, p+s.jitter*r.NormFloat64()))
			}
			e := binomial(r, req, s.errShare)
			x := binomial(r, e, p)
			res.Series.Points = append(res.Series.Points, Point{Time: t, Role: role, Requests: req, ErrorPathRequests: e, Status500: x, ErrorPath500: x, Rate500: Rate(x, e)})
		}
	}
	return res
}

// steps returns a function of time that takes values[i] from
// times[i-1] on (values[0] before the first time).
func steps(times []time.Time, values []float64) func(time.Time) float64 {
	return func(t time.Time) float64 {
		v := values[0]
		for i, at := range times {
			if !t.Before(at) {
				v = values[i+1]
			}
		}
		return v
	}
}
