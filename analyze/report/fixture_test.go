package report

import (
	"time"

	"github.com/cflens/cflens/analyze"
)

// hostile are strings a log can carry into a report: markup, script URLs,
// their percent-encoded forms, spreadsheet formulas, terminal escapes,
// Markdown and bidi tricks.
var hostile = []string{
	"<script>alert(1)</script>",
	"javascript:alert(1)",
	`"><img src=x onerror=alert(1)>`,
	"%3Cscript%3Ealert(1)%3C%2Fscript%3E",
	"javascript%3Aalert(1)",
	"%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
	`=HYPERLINK("http://evil.example/","x")`,
	"\x1b[31mred\x1b[0m\x07",
	"+cmd|' /C calc'!A0",
	"@SUM(1+1)",
	"-2+3",
	"\tTAB",
	"| [x](javascript:alert(1)) **b** _e_ `c` www.evil.example https://evil.example/",
	"abc\u202edcba.exe",
}

func ptr[T any](v T) *T { return &v }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is a small analysis of the case that motivates cflens: custom
// error responses switched on and off around a weighted policy, with
// hostile strings wherever a log or a hand-edited file can put them.
func fixture() *analyze.Result {
	on, off := true, false
	weighted := analyze.PolicyState{Enabled: ptr(true), Type: ptr("weighted"), Weight: ptr(0.15), Sticky: ptr(false)}
	windows := []analyze.Window{
		{ID: 1, From: at("2026-11-02T00:00:00Z"), To: at("2026-11-02T08:00:00Z"), SettleUntil: at("2026-11-02T00:00:00Z"),
			State: analyze.State{Production: analyze.DistributionState{CustomErrorResponses: &on},
				Staging: analyze.DistributionState{CustomErrorResponses: &on}, ContinuousDeployment: weighted}},
		{ID: 2, From: at("2026-11-02T08:00:00Z"), To: at("2026-11-02T16:00:00Z"), SettleUntil: at("2026-11-02T08:15:00Z"),
			State: analyze.State{Production: analyze.DistributionState{CustomErrorResponses: &on},
				Staging: analyze.DistributionState{CustomErrorResponses: &off}, ContinuousDeployment: weighted}},
		{ID: 3, From: at("2026-11-02T16:00:00Z"), To: at("2026-11-03T00:00:00Z"), SettleUntil: at("2026-11-02T16:15:00Z"),
			State: analyze.State{Production: analyze.DistributionState{CustomErrorResponses: &off},
				Staging: analyze.DistributionState{CustomErrorResponses: &off}, ContinuousDeployment: analyze.PolicyState{Enabled: ptr(false)}}},
	}
	for i := range windows {
		windows[i].Label = windows[i].State.Label()
	}
	windows[2].Label += " " + hostile[0]

	cell := func(w int, role string, req, errReq, err500, good500 int64, types map[string]int64, detailed map[string]int64) analyze.Cell {
		var s500 int64
		for _, v := range types {
			s500 += v
		}
		return analyze.Cell{Window: w, Role: role, Requests: req,
			Status:    map[string]int64{"200": req - errReq - good500, "404": errReq - err500, "500": s500},
			Status500: s500, Status5xx: s500, ErrorPathRequests: errReq, ErrorPath4xx: errReq - err500, ErrorPath500: err500,
			ErrorPath5xx: err500, GoodPathRequests: req - errReq, GoodPath500: good500,
			Rate500: analyze.Rate(err500, errReq), Rate500CI95: analyze.Wilson(err500, errReq, 1.959963984540054),
			Rate5xx: analyze.Rate(err500, errReq), Rate5xxCI95: analyze.Wilson(err500, errReq, 1.959963984540054),
			Rate500All: analyze.Rate(s500, req), Rate500AllCI95: analyze.Wilson(s500, req, 1.959963984540054),
			Rate5xxAll: analyze.Rate(s500, req), Rate5xxAllCI95: analyze.Wilson(s500, req, 1.959963984540054),
			ResultTypes500: types, ResponseResultTypes500: types, DetailedResultTypes500: detailed}
	}
	cells := []analyze.Cell{
		cell(1, "production", 8500, 400, 60, 0, map[string]int64{"Error": 60}, map[string]int64{"Error": 45, "OriginCommError": 15}),
		cell(1, "staging", 1500, 70, 58, 0, map[string]int64{"Error": 57, hostile[2]: 1}, map[string]int64{"Error": 50, hostile[7]: 8}),
		cell(2, "production", 8400, 390, 52, 0, map[string]int64{"Error": 52}, map[string]int64{"Error": 52}),
		cell(2, "staging", 1600, 75, 0, 0, map[string]int64{}, map[string]int64{}),
		cell(3, "production", 9900, 460, 0, 0, map[string]int64{}, map[string]int64{}),
		cell(3, "staging", 0, 0, 0, 0, map[string]int64{}, map[string]int64{}),
	}
	// Custom error responses that answered failures with a 2xx.
	cells[2].HiddenErrors, cells[2].ClientDisconnects, cells[2].Unknown2xx = 12, 3, 1

	// The matrix: windows 1 (on, on) and 2 (on, off); window 3 has the
	// policy off.
	rate := func(x, n int64) (*float64, *[2]float64) {
		r, ci := analyze.Rate(x, n), analyze.Wilson(x, n, 1.959963984540054)
		return &r, &ci
	}
	mcell := func(prod, stg bool, role string, windows []int, req, errReq, err500 int64) analyze.MatrixCell {
		c := analyze.MatrixCell{ProductionCustomErrors: prod, StagingCustomErrors: stg, Role: role, Observed: len(windows) > 0,
			Windows: windows, Requests: req, ErrorPathRequests: errReq, ErrorPath500: err500}
		if errReq > 0 {
			c.Rate500, c.Rate500CI95 = rate(err500, errReq)
		}
		return c
	}
	matrix := analyze.Matrix{
		Rule:                  "error-path requests of the windows whose continuous deployment policy was enabled, outside peak hours",
		Windows:               []int{1, 2},
		PeakErrorPathRequests: 0,
		Cells: []analyze.MatrixCell{
			mcell(false, false, "production", []int{}, 0, 0, 0), mcell(false, false, "staging", []int{}, 0, 0, 0),
			mcell(false, true, "production", []int{}, 0, 0, 0), mcell(false, true, "staging", []int{}, 0, 0, 0),
			mcell(true, false, "production", []int{2}, 8400, 390, 52), mcell(true, false, "staging", []int{2}, 1600, 75, 0),
			mcell(true, true, "production", []int{1}, 8500, 400, 60), mcell(true, true, "staging", []int{1}, 1500, 70, 58),
		},
	}

	var points []analyze.Point
	for i := range 48 {
		t := at("2026-11-02T00:00:00Z").Add(time.Duration(i) * 30 * time.Minute)
		w := i / 16
		for _, role := range []string{"production", "staging"} {
			if w == 2 && role == "staging" {
				continue
			}
			c := cells[2*w]
			if role == "staging" {
				c = cells[2*w+1]
			}
			errReq := c.ErrorPathRequests / 16
			err500 := c.ErrorPath500 / 16
			if i%7 == 3 {
				err500 += 2
			}
			if w == 2 {
				err500 = 0
			}
			points = append(points, analyze.Point{Time: t, Role: role, Requests: c.Requests / 16, ErrorPathRequests: errReq,
				Status500: err500, ErrorPath500: err500, Rate500: analyze.Rate(err500, errReq)})
		}
	}

	var hours []analyze.Hour
	for _, role := range []string{"production", "staging"} {
		for h := range 24 {
			req, errReq := int64(800+40*h), int64(38+h)
			var err500 int64
			share := 0.15
			peak := 0
			if h >= 18 && h <= 20 {
				share, peak = 0.01, 1
			}
			if role == "staging" {
				req, errReq = int64(150+5*h), int64(6+h/4)
				err500 = int64(4 + h/4)
				if peak > 0 {
					req, errReq, err500 = 8, 0, 0
				}
			} else if h < 16 {
				err500 = int64(4 + h%3)
			}
			hours = append(hours, analyze.Hour{Role: role, Hour: h, Requests: req, ErrorPathRequests: errReq, Status500: err500,
				ErrorPath500: err500, StagingShare: share, Rate500: analyze.Rate(err500, errReq),
				Rate500CI95: analyze.Wilson(err500, errReq, 1.959963984540054), PeakHours: peak})
		}
	}
	weekdays := []analyze.Weekday{
		{Role: "production", Day: 1, Name: "Monday", Requests: 26800, ErrorPathRequests: 1250, Status500: 112, ErrorPath500: 112,
			StagingShare: 0.11, Rate500: analyze.Rate(112, 1250), Rate500CI95: analyze.Wilson(112, 1250, 1.959963984540054)},
		{Role: "staging", Day: 1, Name: "Monday", Requests: 3100, ErrorPathRequests: 145, Status500: 58, ErrorPath500: 58,
			StagingShare: 0.11, Rate500: analyze.Rate(58, 145), Rate500CI95: analyze.Wilson(58, 145, 1.959963984540054)},
	}
	rd := -0.7
	return &analyze.Result{
		Schema:        analyze.SchemaVersion,
		Range:         analyze.Range{From: at("2026-11-02T00:00:00Z"), To: at("2026-11-03T00:00:00Z")},
		Timezone:      "UTC",
		SettleSeconds: 900,
		BucketSeconds: 1800,
		Distributions: analyze.Distributions{Production: "E2PRODEXAMPLE", Staging: "E3STAGEXAMPLE"},
		Input: analyze.Input{Objects: 96, Rows: 30400, RejectedLines: 3, Analyzed: 29900, OutOfRange: 0, Settling: 500,
			UnknownRole: 0, AbortedObjects: 0},
		ErrorPathRule: "auto",
		ErrorPaths: analyze.ErrorPaths{Stems: 412, Error: len64(hostile) + 1, Requests: 1395, Status500: 170,
			Top:        append([]analyze.PathCount{{Stem: "/missing-page", Requests: 900, Status500: 120}}, hostilePaths()...),
			TopGood500: []analyze.PathCount{{Stem: hostile[6], Requests: 3, Status500: 1}}},
		Windows:  windows,
		Matrix:   matrix,
		Cells:    cells,
		Hours:    hours,
		Weekdays: weekdays,
		PeakHours: analyze.PeakHours{
			Rule: "enabled weighted policy, staging share below 0.2 × weight with at least 20 requests expected there",
			Hours: []analyze.PeakHour{
				{From: at("2026-11-02T18:00:00Z"), To: at("2026-11-02T19:00:00Z"), Window: 3, Requests: 1520, Staging: 8, StagingShare: 0.0053, ExpectedShare: 0.15},
			},
			Inside:  []analyze.RateGroup{{Role: "production", Requests: 1512, ErrorPathRequests: 57, ErrorPath500: 0, Rate500: 0, Rate500CI95: analyze.Wilson(0, 57, 1.959963984540054)}, {Role: "staging", Requests: 8, Rate500CI95: analyze.Wilson(0, 0, 1.959963984540054)}},
			Outside: []analyze.RateGroup{{Role: "production", Requests: 16900, ErrorPathRequests: 790, ErrorPath500: 112, Rate500: analyze.Rate(112, 790), Rate500CI95: analyze.Wilson(112, 790, 1.959963984540054)}, {Role: "staging", Requests: 3100, ErrorPathRequests: 145, ErrorPath500: 58, Rate500: analyze.Rate(58, 145), Rate500CI95: analyze.Wilson(58, 145, 1.959963984540054)}},
		},
		Series: analyze.Series{Boundaries: []time.Time{at("2026-11-02T08:00:00Z"), at("2026-11-02T16:00:00Z")}, Points: points},
		Tests: []analyze.Test{
			{Name: "500 vs window (production)", Method: "chi-square", Groups: []string{"window 1", "window 2", "window 3"},
				Table: [][2]int64{{60, 340}, {52, 338}, {0, 460}}, Statistic: 71.234, DF: 2, PValue: 3.3e-16, PAdjusted: ptr(9.9e-16), Significant: true, Effect: 0.2418},
			{Name: "500: production vs staging (window 1)", Method: "fisher-exact", Groups: []string{"production", "staging " + hostile[1]},
				Table: [][2]int64{{60, 340}, {58, 12}}, Statistic: 0, DF: 1, PValue: 0.0000001, Effect: 0.62,
				PAdjusted: ptr(0.0000002), Significant: true,
				RiskDifference: &rd, RiskDifferenceCI95: &[2]float64{-0.79, -0.58}, Warning: ""},
			{Name: "500 vs role (window 3)", Method: "none", Groups: []string{"production", "staging"}, Table: [][2]int64{{0, 460}, {0, 12}},
				PValue: 1, Warning: "no variation: every request had the same outcome"},
			{Name: "500 vs custom errors of staging (production error paths, within each setting of production)", Method: "cochran-mantel-haenszel",
				Groups: []string{"staging on", "staging off"}, Table: [][2]int64{{60, 340}, {52, 338}}, Strata: []string{"production on"},
				Statistic: 0.61, DF: 1, PValue: 0.43, PAdjusted: ptr(0.86), Effect: 0.03},
		},
		Findings: []analyze.Finding{
			{Rank: 1, Kind: "custom_errors", Statement: "500s occur only when custom error responses are on: 170 of 935 error-path requests (18.2%) with them on at least one distribution, none of 460 with them off on both.",
				Evidence: map[string]float64{"on_error_path_500": 170, "on_error_path_requests": 935, "off_error_path_requests": 460},
				Tests:    []string{"500 vs window (production)", hostile[12]}},
			{Rank: 2, Kind: "paths", Statement: "Path " + hostile[0] + " and " + hostile[7] + " got 500.",
				Evidence: map[string]float64{"status_500": 170}},
			{Rank: 3, Kind: "test", Statement: hostile[6], Evidence: map[string]float64{"risk_difference": -0.7}},
		},
		Warnings: []string{"3 rejected lines", hostile[12]},
		CompareDetected: &analyze.DetectedComparison{
			ToleranceSeconds: 1800,
			Recorded: []analyze.RecordedComparison{
				{At: at("2025-09-10T06:00:00Z"), From: windows[0].Label, To: windows[1].Label, Matched: true,
					Nearest: &analyze.ChangeSummary{At: at("2025-09-10T06:05:00Z"), Low: at("2025-09-10T06:00:00Z"), High: at("2025-09-10T06:15:00Z"),
						Effects: []analyze.EffectReport{{Series: analyze.SeriesErrorPath500, Role: "production", Before: 0, After: 0.15,
							BeforeCI95: [2]float64{0, 0.01}, AfterCI95: [2]float64{0.12, 0.18}, Text: "production 500 share 0.0% → 15.0%"}}},
					LagSeconds: ptr(300.0)},
				{At: at("2025-09-10T12:00:00Z"), From: windows[1].Label, To: windows[2].Label},
			},
			Unexplained: []analyze.ChangeSummary{{At: at("2025-09-10T09:00:00Z"), Low: at("2025-09-10T08:50:00Z"), High: at("2025-09-10T09:10:00Z"),
				Effects: []analyze.EffectReport{{Series: analyze.SeriesStagingShare, Before: 0.15, After: 0.05, Text: "staging share 15.0% → 5.0%"}}}},
		},
	}
}

func len64[T any](s []T) int64 { return int64(len(s)) }

func hostilePaths() []analyze.PathCount {
	ps := make([]analyze.PathCount, len(hostile))
	for i, h := range hostile {
		ps[i] = analyze.PathCount{Stem: "/" + h, Requests: int64(30 - i), Status500: int64(i % 3)}
		if i == 6 || i == 8 || i == 9 || i == 10 || i == 11 {
			ps[i].Stem = h // starts with a formula character
		}
	}
	return ps
}
