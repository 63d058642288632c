package analyze

import (
	"math"
	"strings"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestWilson(t *testing.T) {
	tests := []struct {
		name   string
		x, n   int64
		lo, hi float64
	}{
		// Newcombe (1998), Statistics in Medicine 17:857, example 81/263.
		{"newcombe 81/263", 81, 263, 0.2553, 0.3662},
		{"half of ten", 5, 10, 0.2366, 0.7634},
		{"none of ten", 0, 10, 0, 0.2775},
		{"all of ten", 10, 10, 0.7225, 1},
		{"no trials", 0, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Wilson(tt.x, tt.n, z95)
			if !near(got[0], tt.lo, 5e-5) || !near(got[1], tt.hi, 5e-5) {
				t.Errorf("Wilson(%d, %d) = %v, want [%v, %v]", tt.x, tt.n, got, tt.lo, tt.hi)
			}
		})
	}
}

func TestChiSquareSF(t *testing.T) {
	tests := []struct {
		name  string
		x, df float64
		want  float64
	}{
		{"df 1 at 3.841459", 3.841459, 1, 0.05},
		{"df 1 at 1", 1, 1, math.Erfc(math.Sqrt(0.5))},
		{"df 1 far tail", 60, 1, math.Erfc(math.Sqrt(30))},
		{"df 2 at 10", 10, 2, math.Exp(-5)},
		{"df 4 at 7", 7, 4, math.Exp(-3.5) * (1 + 3.5)},
		{"df 10 at 20", 20, 10, 0.02925269},
		{"df 3 small x", 0.5, 3, 0.9188914},
		{"zero", 0, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChiSquareSF(tt.x, tt.df)
			if !near(got, tt.want, 1e-6*math.Max(1, tt.want)) && math.Abs(got/tt.want-1) > 1e-6 {
				t.Errorf("ChiSquareSF(%v, %v) = %v, want %v", tt.x, tt.df, got, tt.want)
			}
		})
	}
}

func TestChiSquare(t *testing.T) {
	tests := []struct {
		name    string
		table   [][]int64
		yates   bool
		stat    float64
		df      int
		p       float64
		minExp  float64
		effectV float64
	}{
		{
			// R's ?chisq.test example (Agresti 2007, party by gender):
			// X-squared = 30.07, df = 2, p-value = 2.954e-07.
			name:  "R party by gender",
			table: [][]int64{{762, 327, 468}, {484, 239, 477}},
			stat:  30.07015, df: 2, p: 2.954e-07, minExp: 0, effectV: math.Sqrt(30.07015 / 2757),
		},
		{
			// Hand computed: expected 12, 18, 28, 42; |O−E| = 2.
			name:  "2x2 uncorrected",
			table: [][]int64{{10, 20}, {30, 40}},
			stat:  4 * (1.0/12 + 1.0/18 + 1.0/28 + 1.0/42), df: 1, minExp: 12,
			effectV: math.Sqrt(4 * (1.0/12 + 1.0/18 + 1.0/28 + 1.0/42) / 100),
		},
		{
			name:  "2x2 Yates",
			table: [][]int64{{10, 20}, {30, 40}},
			yates: true,
			stat:  2.25 * (1.0/12 + 1.0/18 + 1.0/28 + 1.0/42), df: 1, minExp: 12,
		},
		{
			name:  "empty row dropped",
			table: [][]int64{{10, 20}, {0, 0}, {30, 40}},
			stat:  4 * (1.0/12 + 1.0/18 + 1.0/28 + 1.0/42), df: 1, minExp: 12,
		},
		{
			name:  "one column only",
			table: [][]int64{{0, 20}, {0, 40}},
			stat:  0, df: 0, p: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChiSquare(tt.table, tt.yates)
			if !near(got.Statistic, tt.stat, 1e-4) {
				t.Errorf("statistic = %v, want %v", got.Statistic, tt.stat)
			}
			if got.DF != tt.df {
				t.Errorf("df = %d, want %d", got.DF, tt.df)
			}
			wantP := tt.p
			if wantP == 0 {
				wantP = ChiSquareSF(tt.stat, float64(tt.df))
			}
			if math.Abs(got.PValue/wantP-1) > 1e-3 {
				t.Errorf("p = %v, want %v", got.PValue, wantP)
			}
			if tt.minExp > 0 && !near(got.MinExpected, tt.minExp, 1e-9) {
				t.Errorf("min expected = %v, want %v", got.MinExpected, tt.minExp)
			}
			if tt.effectV > 0 {
				if v := CramersV(got.Statistic, got.N, got.Rows, got.Cols); !near(v, tt.effectV, 1e-6) {
					t.Errorf("Cramér's V = %v, want %v", v, tt.effectV)
				}
			}
		})
	}
}

func TestFisherExact(t *testing.T) {
	tests := []struct {
		name       string
		a, b, c, d int64
		want       float64
	}{
		// Fisher's lady tasting tea, R: fisher.test(matrix(c(3,1,1,3),2)) p = 0.4857.
		{"tea", 3, 1, 1, 3, 34.0 / 70},
		// Wikipedia's example (dieting by sex), two-sided p = 0.002759.
		{"wikipedia", 1, 9, 11, 3, 0.002759},
		{"no variation", 0, 10, 0, 12, 1},
		{"perfect split", 5, 0, 0, 5, 2.0 / 252},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FisherExact(tt.a, tt.b, tt.c, tt.d); math.Abs(got/tt.want-1) > 2e-4 {
				t.Errorf("FisherExact = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRiskDifference(t *testing.T) {
	// Newcombe (1998), Statistics in Medicine 17:873, example 56/70 − 48/80:
	// method 10 gives 0.0524 to 0.3339.
	d, ci := RiskDifference(56, 70, 48, 80)
	if !near(d, 0.2, 1e-12) || !near(ci[0], 0.0524, 5e-5) || !near(ci[1], 0.3339, 5e-5) {
		t.Errorf("RiskDifference = %v %v, want 0.2 [0.0524, 0.3339]", d, ci)
	}
	// Newcombe's example 9/10 − 3/10: 0.1705 to 0.8090... kept to his
	// published four digits.
	_, ci = RiskDifference(9, 10, 3, 10)
	if !near(ci[0], 0.1705, 5e-4) || !near(ci[1], 0.8090, 5e-4) {
		t.Errorf("RiskDifference(9/10, 3/10) CI = %v, want [0.1705, 0.8090]", ci)
	}
}

func TestPhi(t *testing.T) {
	if got := Phi(10, 0, 0, 10); got != 1 {
		t.Errorf("Phi perfect = %v, want 1", got)
	}
	if got := Phi(0, 10, 10, 0); got != -1 {
		t.Errorf("Phi inverse = %v, want -1", got)
	}
	// |phi| equals Cramér's V of the uncorrected chi-square.
	cs := ChiSquare([][]int64{{10, 20}, {30, 40}}, false)
	if v, p := CramersV(cs.Statistic, cs.N, 2, 2), Phi(10, 20, 30, 40); !near(v, math.Abs(p), 1e-12) {
		t.Errorf("V = %v, |phi| = %v", v, math.Abs(p))
	}
}

func TestAssociation(t *testing.T) {
	tests := []struct {
		name       string
		groups     []string
		table      [][2]int64
		ok         bool
		method     string
		p          float64
		warn       string
		riskDiff   bool
		wantGroups int
	}{
		{
			name: "large 2x2 uses Yates", groups: []string{"a", "b"}, table: [][2]int64{{10, 20}, {30, 40}},
			ok: true, method: "chi-square (Yates)", p: ChiSquare([][]int64{{10, 20}, {30, 40}}, true).PValue, riskDiff: true, wantGroups: 2,
		},
		{
			name: "small 2x2 uses Fisher", groups: []string{"a", "b"}, table: [][2]int64{{3, 1}, {1, 3}},
			ok: true, method: "fisher-exact", p: 34.0 / 70, riskDiff: true, wantGroups: 2,
			warn: "too few requests to say anything about a (4 requests), b (4 requests)",
		},
		{
			name: "empty group dropped", groups: []string{"a", "empty", "b"}, table: [][2]int64{{10, 20}, {0, 0}, {30, 40}},
			ok: true, method: "chi-square (Yates)", p: ChiSquare([][]int64{{10, 20}, {30, 40}}, true).PValue, riskDiff: true, wantGroups: 2,
		},
		{
			name: "one group is no test", groups: []string{"a", "b"}, table: [][2]int64{{10, 20}, {0, 0}},
		},
		{
			name: "r x c with small expected counts warns", groups: []string{"a", "b", "c"}, table: [][2]int64{{1, 20}, {0, 30}, {2, 40}},
			ok: true, method: "chi-square", wantGroups: 3, p: ChiSquare([][]int64{{1, 20}, {0, 30}, {2, 40}}, false).PValue,
			warn: "expected counts down to",
		},
		{
			name: "no 500 anywhere", groups: []string{"a", "b"}, table: [][2]int64{{0, 20}, {0, 30}},
			ok: true, method: "none", p: 1, riskDiff: true, wantGroups: 2, warn: "no variation",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := association("test", tt.groups, tt.table)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got.Method != tt.method || len(got.Groups) != tt.wantGroups {
				t.Errorf("method %q with %d groups, want %q with %d", got.Method, len(got.Groups), tt.method, tt.wantGroups)
			}
			if math.Abs(got.PValue-tt.p) > 1e-12 {
				t.Errorf("p = %v, want %v", got.PValue, tt.p)
			}
			if (got.RiskDifference != nil) != tt.riskDiff {
				t.Errorf("risk difference present = %v, want %v", got.RiskDifference != nil, tt.riskDiff)
			}
			if tt.warn == "" && got.Warning != "" || tt.warn != "" && !strings.Contains(got.Warning, tt.warn) {
				t.Errorf("warning = %q, want %q", got.Warning, tt.warn)
			}
		})
	}
}

func TestHolm(t *testing.T) {
	// R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), "holm")
	// [1] 0.040 0.090 0.090 0.025 0.500
	p := []float64{0.01, 0.04, 0.03, 0.005, 0.5}
	want := []float64{0.04, 0.09, 0.09, 0.025, 0.5}
	got := Holm(p)
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Errorf("Holm(%v)[%d] = %v, want %v", p, i, got[i], want[i])
		}
	}
	// Capped at 1, ties kept in order, an empty family is empty.
	if got := Holm([]float64{0.6, 0.6}); got[0] != 1 || got[1] != 1 {
		t.Errorf("Holm(0.6, 0.6) = %v, want [1 1]", got)
	}
	if got := Holm(nil); len(got) != 0 {
		t.Errorf("Holm(nil) = %v", got)
	}
}

func TestCochranMantelHaenszel(t *testing.T) {
	// One stratum: (n−1)/n times the Yates chi-square.
	one := [2][2]int64{{12, 88}, {30, 170}}
	yates := ChiSquare([][]int64{{12, 88}, {30, 170}}, true)
	got := CochranMantelHaenszel([][2][2]int64{one})
	if want := yates.Statistic * 299 / 300; !near(got.Statistic, want, 1e-12) {
		t.Errorf("one stratum: statistic %v, want (n-1)/n × Yates = %v", got.Statistic, want)
	}
	if !near(got.PValue, ChiSquareSF(got.Statistic, 1), 1e-15) || got.Informative != 1 {
		t.Errorf("one stratum: %+v", got)
	}
	// Simpson's paradox: within each stratum no association, pooled a
	// strong one. The stratified test must see none.
	simpson := [][2][2]int64{{{10, 90}, {1, 9}}, {{45, 5}, {450, 50}}}
	if got := CochranMantelHaenszel(simpson); got.PValue < 0.5 {
		t.Errorf("stratified without association: p = %v, want near 1", got.PValue)
	}
	pooled := ChiSquare([][]int64{{55, 95}, {451, 59}}, true)
	if pooled.PValue > 1e-6 {
		t.Errorf("pooled table should show the association: p = %v", pooled.PValue)
	}
	// Strata that never hold both groups: nothing to test.
	apart := CochranMantelHaenszel([][2][2]int64{{{5, 5}, {0, 0}}, {{0, 0}, {1, 9}}})
	if apart.Informative != 0 || apart.PValue != 1 {
		t.Errorf("groups apart: %+v", apart)
	}
	// One outcome only.
	if got := CochranMantelHaenszel([][2][2]int64{{{0, 5}, {0, 7}}}); !got.NoVariation {
		t.Errorf("no variation: %+v", got)
	}
}
