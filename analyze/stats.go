package analyze

import (
	"math"
	"sort"
)

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// Wilson returns the Wilson score interval for x successes in n trials at
// the normal quantile z (z95 for 95%), as R's prop.test(x, n,
// correct = FALSE) does. With n = 0 it returns [0, 1]: nothing is known.
func Wilson(x, n int64, z float64) [2]float64 {
	if n <= 0 {
		return [2]float64{0, 1}
	}
	nf := float64(n)
	p := float64(x) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	lo, hi := center-half, center+half
	// The bounds are exact at 0 and n; keep rounding from leaking past them.
	if x == 0 {
		lo = 0
	}
	if x == n {
		hi = 1
	}
	return [2]float64{math.Max(0, lo), math.Min(1, hi)}
}

// Rate returns x/n, or 0 when n is 0.
func Rate(x, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}

// ChiSquareResult is the outcome of a chi-square test of independence.
type ChiSquareResult struct {
	Statistic float64
	DF        int
	PValue    float64
	// MinExpected is the smallest expected cell count; below 5 the
	// asymptotic p-value is doubtful.
	MinExpected float64
	// N is the table total, Rows and Cols the dimensions after dropping
	// empty rows and columns.
	N          int64
	Rows, Cols int
}

// ChiSquare runs Pearson's chi-square test of independence on a
// contingency table (rows × columns of counts), as R's chisq.test does.
// Rows and columns whose total is zero are dropped first. With yates set,
// 2×2 tables get the continuity correction (R's default). A table with
// fewer than two non-empty rows or columns has statistic 0, p-value 1.
func ChiSquare(table [][]int64, yates bool) ChiSquareResult {
	rows, cols := nonEmpty(table)
	res := ChiSquareResult{PValue: 1, Rows: len(rows), Cols: len(cols)}
	rs := make([]float64, len(rows))
	cs := make([]float64, len(cols))
	var n float64
	for i, r := range rows {
		for j, c := range cols {
			v := float64(table[r][c])
			rs[i] += v
			cs[j] += v
			n += v
		}
	}
	res.N = int64(n)
	if len(rows) < 2 || len(cols) < 2 {
		return res
	}
	res.MinExpected = math.Inf(1)
	correct := yates && len(rows) == 2 && len(cols) == 2
	var stat float64
	if correct {
		// R: YATES <- min(0.5, abs(x - E)); sum((abs(x - E) - YATES)^2/E)
		minYates := 0.5
		for i, r := range rows {
			for j, c := range cols {
				e := rs[i] * cs[j] / n
				minYates = math.Min(minYates, math.Abs(float64(table[r][c])-e))
			}
		}
		for i, r := range rows {
			for j, c := range cols {
				e := rs[i] * cs[j] / n
				d := math.Abs(float64(table[r][c])-e) - minYates
				stat += d * d / e
				res.MinExpected = math.Min(res.MinExpected, e)
			}
		}
	} else {
		for i, r := range rows {
			for j, c := range cols {
				e := rs[i] * cs[j] / n
				d := float64(table[r][c]) - e
				stat += d * d / e
				res.MinExpected = math.Min(res.MinExpected, e)
			}
		}
	}
	res.Statistic = stat
	res.DF = (len(rows) - 1) * (len(cols) - 1)
	res.PValue = ChiSquareSF(stat, float64(res.DF))
	return res
}

func nonEmpty(table [][]int64) (rows, cols []int) {
	if len(table) == 0 {
		return nil, nil
	}
	ncols := 0
	for _, r := range table {
		ncols = max(ncols, len(r))
	}
	colSum := make([]int64, ncols)
	for i, r := range table {
		var s int64
		for j, v := range r {
			s += v
			colSum[j] += v
		}
		if s > 0 {
			rows = append(rows, i)
		}
	}
	for j, s := range colSum {
		if s > 0 {
			cols = append(cols, j)
		}
	}
	return rows, cols
}

// CramersV is the effect size of a chi-square statistic on an r×c table
// with total n: sqrt(χ²/(n·(min(r,c)−1))), which is |phi| for 2×2.
func CramersV(stat float64, n int64, rows, cols int) float64 {
	k := min(rows, cols) - 1
	if n <= 0 || k <= 0 {
		return 0
	}
	return math.Sqrt(stat / (float64(n) * float64(k)))
}

// ChiSquareSF is the upper tail P(X > x) of the chi-square distribution
// with df degrees of freedom, R's pchisq(x, df, lower.tail = FALSE).
func ChiSquareSF(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	return GammaQ(df/2, x/2)
}

// GammaP is the regularized lower incomplete gamma function P(a, x).
func GammaP(a, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case math.IsInf(x, 1):
		return 1
	case x < a+1:
		return gammaSeries(a, x)
	default:
		return 1 - gammaContinuedFraction(a, x)
	}
}

// GammaQ is the regularized upper incomplete gamma function
// Q(a, x) = 1 − P(a, x), computed directly in the tail so that small
// p-values keep their precision.
func GammaQ(a, x float64) float64 {
	switch {
	case x <= 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	case x < a+1:
		return 1 - gammaSeries(a, x)
	default:
		return gammaContinuedFraction(a, x)
	}
}

// gammaSeries evaluates P(a, x) by its series (converges fast for
// x < a+1).
func gammaSeries(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	ap, sum := a, 1/a
	del := sum
	for range 1000 {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*1e-16 {
			break
		}
	}
	return sum * math.Exp(-x+a*math.Log(x)-lg)
}

// gammaContinuedFraction evaluates Q(a, x) by Lentz's continued fraction
// (converges fast for x ≥ a+1).
func gammaContinuedFraction(a, x float64) float64 {
	const tiny = 1e-300
	lg, _ := math.Lgamma(a)
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i <= 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}

// FisherExact returns the two-sided p-value of Fisher's exact test on the
// 2×2 table [[a, b], [c, d]], as R's fisher.test: the sum of the
// probabilities of all tables with the same margins that are no more
// likely than the observed one.
func FisherExact(a, b, c, d int64) float64 {
	r1, r2 := a+b, c+d
	c1 := a + c
	n := r1 + r2
	if r1 == 0 || r2 == 0 || c1 == 0 || c1 == n {
		return 1
	}
	lo := max(0, c1-r2)
	hi := min(r1, c1)
	logP := func(x int64) float64 {
		return lchoose(r1, x) + lchoose(r2, c1-x) - lchoose(n, c1)
	}
	obs := logP(a)
	// R compares densities with a relative tolerance of 1e-7.
	limit := obs + math.Log1p(1e-7)
	var p float64
	for x := lo; x <= hi; x++ {
		if lp := logP(x); lp <= limit {
			p += math.Exp(lp)
		}
	}
	return math.Min(1, p)
}

func lchoose(n, k int64) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// RiskDifference returns x1/n1 − x2/n2 and its 95% interval by
// Newcombe's hybrid score method (his method 10, from Wilson intervals),
// which behaves at rates near 0 and 1. With an empty group the interval
// is [-1, 1].
func RiskDifference(x1, n1, x2, n2 int64) (float64, [2]float64) {
	if n1 == 0 || n2 == 0 {
		return Rate(x1, n1) - Rate(x2, n2), [2]float64{-1, 1}
	}
	p1, p2 := Rate(x1, n1), Rate(x2, n2)
	w1, w2 := Wilson(x1, n1, z95), Wilson(x2, n2, z95)
	d := p1 - p2
	lo := d - math.Sqrt((p1-w1[0])*(p1-w1[0])+(w2[1]-p2)*(w2[1]-p2))
	hi := d + math.Sqrt((w1[1]-p1)*(w1[1]-p1)+(p2-w2[0])*(p2-w2[0]))
	return d, [2]float64{math.Max(-1, lo), math.Min(1, hi)}
}

// Phi is the signed phi coefficient of the 2×2 table [[a, b], [c, d]].
func Phi(a, b, c, d int64) float64 {
	den := math.Sqrt(float64(a+b) * float64(c+d) * float64(a+c) * float64(b+d))
	if den == 0 {
		return 0
	}
	return (float64(a)*float64(d) - float64(b)*float64(c)) / den
}

// Holm returns the Holm–Bonferroni adjusted p-values of a family of
// tests, in the order given, as R's p.adjust(p, "holm") does: sorted
// ascending, the i-th smallest (from 0) is multiplied by m−i, made
// non-decreasing, and capped at 1. Rejecting where the adjusted p-value
// is below α keeps the chance of any false rejection in the family at
// most α, whatever the dependence between the tests.
func Holm(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return p[order[i]] < p[order[j]] })
	adj := make([]float64, m)
	run := 0.0
	for rank, i := range order {
		run = math.Max(run, math.Min(1, float64(m-rank)*p[i]))
		adj[i] = run
	}
	return adj
}

// CMHResult is the outcome of a Cochran–Mantel–Haenszel test.
type CMHResult struct {
	Statistic, PValue float64
	// Informative counts the strata that hold both groups; with none the
	// groups never met in one stratum and there is nothing to test.
	Informative int
	// NoVariation is set when the informative strata had one outcome
	// only (variance 0).
	NoVariation bool
}

// CochranMantelHaenszel tests a 2×2 association stratified by a third
// variable: each stratum is [[a, b], [c, d]] with the two groups as rows
// and the two outcomes as columns. Like R's mantelhaen.test with its
// default continuity correction: (|Σa − ΣE(a)| − min(0.5, |Σa − ΣE(a)|))²
// / ΣVar(a), chi-square with 1 degree of freedom. On one stratum it is
// (n−1)/n times the Yates chi-square.
func CochranMantelHaenszel(strata [][2][2]int64) CMHResult {
	var sumA, sumE, sumV float64
	res := CMHResult{PValue: 1}
	for _, s := range strata {
		a, b, c, d := float64(s[0][0]), float64(s[0][1]), float64(s[1][0]), float64(s[1][1])
		n := a + b + c + d
		r1, r2, c1, c2 := a+b, c+d, a+c, b+d
		if r1 == 0 || r2 == 0 || n < 2 {
			continue
		}
		res.Informative++
		sumA += a
		sumE += r1 * c1 / n
		sumV += r1 * r2 * c1 * c2 / (n * n * (n - 1))
	}
	if res.Informative == 0 {
		return res
	}
	if sumV == 0 {
		res.NoVariation = true
		return res
	}
	delta := math.Abs(sumA - sumE)
	d := delta - math.Min(0.5, delta)
	res.Statistic = d * d / sumV
	res.PValue = ChiSquareSF(res.Statistic, 1)
	return res
}
