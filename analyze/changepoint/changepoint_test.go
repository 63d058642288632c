package changepoint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// draw returns Binomial(n, p) by summing Bernoulli draws (small n only).
func draw(r *rand.Rand, n int64, p float64) int64 {
	var x int64
	for range n {
		if r.Float64() < p {
			x++
		}
	}
	return x
}

// series draws len(ps) bins of n trials with the given probabilities.
func series(r *rand.Rand, n int64, ps []float64) []Bin {
	bins := make([]Bin, len(ps))
	for i, p := range ps {
		bins[i] = Bin{N: n, X: draw(r, n, p)}
	}
	return bins
}

func stepsOf(n int, at []int, levels []float64) []float64 {
	ps := make([]float64, n)
	for i := range ps {
		ps[i] = levels[0]
		for k, a := range at {
			if i >= a {
				ps[i] = levels[k+1]
			}
		}
	}
	return ps
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name   string
		n      int64
		ps     []float64
		empty  [2]int // bins [a, b) emptied
		want   []int
		inside []int // a bin boundary each interval must hold
	}{
		{name: "no change", n: 50, ps: stepsOf(500, nil, []float64{0.2})},
		{name: "one step", n: 50, ps: stepsOf(500, []int{200}, []float64{0.05, 0.4}), want: []int{200}},
		{name: "two steps", n: 50, ps: stepsOf(600, []int{150, 420}, []float64{0.5, 0.1, 0.5}), want: []int{150, 420}},
		{name: "from zero", n: 20, ps: stepsOf(400, []int{123}, []float64{0, 0.5}), want: []int{123}},
		{name: "inside a gap", n: 50, ps: stepsOf(400, []int{200}, []float64{0.1, 0.6}), empty: [2]int{190, 215},
			want: []int{215}, inside: []int{190, 215}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 11))
			bins := series(r, tt.n, tt.ps)
			for i := tt.empty[0]; i < tt.empty[1]; i++ {
				bins[i] = Bin{}
			}
			res := Detect(bins, Options{})
			var got []int
			for _, c := range res.Changes {
				got = append(got, c.Index)
				if c.Low > c.Index || c.Index > c.High {
					t.Errorf("change %d outside its interval [%d, %d]", c.Index, c.Low, c.High)
				}
				if c.Gain < res.Penalty {
					t.Errorf("change %d gains %.1f, less than the penalty %.1f", c.Index, c.Gain, res.Penalty)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("changes at %v, want %v", got, tt.want)
			}
			for i, w := range tt.want {
				if d := got[i] - w; d < -2 || d > 2 {
					t.Errorf("change %d at %d, want %d ± 2", i, got[i], w)
				}
			}
			for _, b := range tt.inside {
				c := res.Changes[0]
				if b < c.Low || b > c.High {
					t.Errorf("interval [%d, %d] does not hold boundary %d", c.Low, c.High, b)
				}
			}
			// Segments tile the series and carry its counts.
			var n, x int64
			prev := 0
			for _, s := range res.Segments {
				if s.Start != prev {
					t.Errorf("segment starts at %d, want %d", s.Start, prev)
				}
				prev = s.End
				n, x = n+s.N, x+s.X
			}
			var wn, wx int64
			for _, b := range bins {
				wn, wx = wn+b.N, wx+b.X
			}
			if prev != len(bins) || n != wn || x != wx {
				t.Errorf("segments end at %d with %d/%d, want %d with %d/%d", prev, x, n, len(bins), wx, wn)
			}
		})
	}
}

func TestDetectEmpty(t *testing.T) {
	if res := Detect(nil, Options{}); len(res.Changes) != 0 || len(res.Segments) != 0 {
		t.Errorf("nil series: %+v", res)
	}
	res := Detect(make([]Bin, 10), Options{})
	if len(res.Changes) != 0 || len(res.Segments) != 1 || res.Segments[0].End != 10 {
		t.Errorf("empty bins: %+v", res)
	}
}

// optimal is optimal partitioning without pruning: the reference PELT
// must agree with.
func optimal(bins []Bin, minSeg int, penalty float64) []int {
	var idx []int
	for i, b := range bins {
		if b.N > 0 {
			idx = append(idx, i)
		}
	}
	c := newCumulative(bins, idx)
	n := len(idx)
	f := make([]float64, n+1)
	last := make([]int, n+1)
	f[0] = -penalty
	for s := 1; s <= n; s++ {
		f[s] = math.Inf(1)
		for t := 0; t <= s-minSeg; t++ {
			if t > 0 && t < minSeg {
				continue
			}
			if v := f[t] - 2*c.loglik(t, s) + penalty; v < f[s] {
				f[s], last[s] = v, t
			}
		}
	}
	var cps []int
	for s := n; s > 0; s = last[s] {
		if last[s] > 0 {
			cps = append(cps, idx[last[s]])
		}
	}
	slices.Reverse(cps)
	return cps
}

// TestPELTIsExact checks that pruning never loses the optimum: on random
// series with several changes and empty bins, PELT's changes are those
// of unpruned optimal partitioning.
func TestPELTIsExact(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 3))
		n := 100 + r.IntN(200)
		var at []int
		levels := []float64{r.Float64()}
		for range r.IntN(5) {
			at = append(at, r.IntN(n))
			levels = append(levels, r.Float64())
		}
		slices.Sort(at)
		bins := series(r, int64(1+r.IntN(30)), stepsOf(n, at, levels))
		for i := range bins {
			if r.IntN(10) == 0 {
				bins[i] = Bin{}
			}
		}
		minSeg := 1 + r.IntN(4)
		penalty := (1 + 3*r.Float64()) * math.Log(float64(n))
		var idx []int
		for i, b := range bins {
			if b.N > 0 {
				idx = append(idx, i)
			}
		}
		bounds := make([]int, len(idx)+1)
		for i := range bounds {
			bounds[i] = i
		}
		var got []int
		for _, p := range pelt(newCumulative(bins, idx), bounds, minSeg, penalty, 1) {
			got = append(got, idx[p])
		}
		want := optimal(bins, minSeg, penalty)
		// Ties aside, the changes are the same; the costs must be.
		if math.Abs(cost(bins, got, penalty)-cost(bins, want, penalty)) > 1e-6 {
			t.Errorf("seed %d: PELT changes %v cost %.4f, optimal %v cost %.4f", seed, got, cost(bins, got, penalty), want, cost(bins, want, penalty))
		}
	}
}

func cost(bins []Bin, cps []int, penalty float64) float64 {
	total := penalty * float64(len(cps))
	bounds := append(append([]int{0}, cps...), len(bins))
	for k := 0; k+1 < len(bounds); k++ {
		s := segment(bins, bounds[k], bounds[k+1])
		n, x := float64(s.N), float64(s.X)
		total -= 2 * (xlogy(x, n) + xlogy(n-x, n))
	}
	return total
}

// TestBlocks checks that a series longer than MaxBins, searched on
// blocks, still places clear changes at bin resolution.
func TestBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	want := []int{1003, 2511, 4099}
	bins := series(r, 40, stepsOf(6000, want, []float64{0.1, 0.4, 0.15, 0.6}))
	res := Detect(bins, Options{MaxBins: 500})
	var got []int
	for _, c := range res.Changes {
		got = append(got, c.Index)
	}
	if len(got) != len(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	for i := range want {
		if d := got[i] - want[i]; d < -1 || d > 1 {
			t.Errorf("change %d at %d, want %d ± 1", i, got[i], want[i])
		}
	}
}

// TestEstimateDispersion checks that binomial counts give a factor near
// 1, and counts with extra-binomial variation (a beta-binomial, the
// probability of each bin drawn around the mean) a larger one.
func TestEstimateDispersion(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n int64
		p float64
	}{{20, 0.05}, {20, 0.5}, {200, 0.15}, {5, 0.3}} {
		bins := series(r, tc.n, stepsOf(3000, nil, []float64{tc.p}))
		if phi := EstimateDispersion(bins); phi > 1.1 {
			t.Errorf("binomial n=%d p=%g: dispersion %.3f, want ≤ 1.1", tc.n, tc.p, phi)
		}
	}
	bins := make([]Bin, 3000)
	for i := range bins {
		p := min(1, max(0, 0.2+0.08*r.NormFloat64()))
		bins[i] = Bin{N: 200, X: draw(r, 200, p)}
	}
	// Var of the bin share: p(1−p)/n + 0.08² ≈ 0.0008 + 0.0064, nine
	// times the binomial's.
	if phi := EstimateDispersion(bins); phi < 5 || phi > 13 {
		t.Errorf("overdispersed: %.2f, want about 9", phi)
	}
}
