package analyze_test

import (
	"fmt"
	"os"
	"time"

	"github.com/cflens/cflens/analyze"
)

func ExampleWilson() {
	ci := analyze.Wilson(15, 100, 1.959963984540054)
	fmt.Printf("15/100: %.4f to %.4f\n", ci[0], ci[1])
	// Output: 15/100: 0.0931 to 0.2328
}

func ExampleWindows() {
	tl, err := analyze.ParseTimeline([]byte(`
changes:
  - at: 2025-09-10T08:00:00Z
    role: production
    custom_error_responses: true
  - at: 2025-09-10T08:00:00Z
    continuous_deployment: {enabled: true, type: weighted, weight: 0.15}
  - at: 2025-09-10T12:00:00Z
    role: staging
    custom_error_responses: true
`), "timeline.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	day := time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)
	ws, err := analyze.Windows(tl, day, day.Add(24*time.Hour), 2*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range ws {
		fmt.Printf("%d %s–%s %s\n", w.ID, w.From.Format("15:04"), w.To.Format("15:04"), w.Label)
	}
	// Output:
	// 1 00:00–08:00 custom errors prod ?, staging ?; policy ?
	// 2 08:00–12:00 custom errors prod on, staging ?; policy weighted 15%
	// 3 12:00–00:00 custom errors prod on, staging on; policy weighted 15%
}

func ExampleParseTimeline_error() {
	_, err := analyze.ParseTimeline([]byte("changes:\n  - at: 2025-09-10T08:00:00Z\n    role: prod\n    custom_error_responses: true\n"), "timeline.yaml")
	fmt.Println(err)
	// Output: timeline.yaml:3: unknown role "prod" (want production or staging)
}

func ExampleTimeline_WriteYAML() {
	on := true
	tl := &analyze.Timeline{
		Distributions: analyze.Distributions{Production: "E1EXAMPLE", Staging: "E2EXAMPLE"},
		Changes: []analyze.Change{
			{At: time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC), Role: "staging", CustomErrorResponses: &on, Note: "UpdateDistribution"},
		},
	}
	if err := tl.WriteYAML(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// distributions:
	//   production: E1EXAMPLE
	//   staging: E2EXAMPLE
	// changes:
	//   - at: "2025-09-10T08:00:00Z"
	//     role: staging
	//     custom_error_responses: true
	//     note: UpdateDistribution
}

// Detect finds when the 500 share of a role changed, on the time series
// of a result (here built by hand: production error-path requests every
// 5 minutes, half of them failing from 05:00).
func ExampleDetect() {
	start := time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)
	res := &analyze.Result{BucketSeconds: 300, Range: analyze.Range{From: start, To: start.Add(10 * time.Hour)}}
	for i := range 120 {
		var x int64
		if i >= 60 {
			x = 10
		}
		res.Series.Points = append(res.Series.Points, analyze.Point{
			Time: start.Add(time.Duration(i) * 5 * time.Minute), Role: "production",
			Requests: 200, ErrorPathRequests: 20, ErrorPath500: x, Status500: x,
		})
	}
	d, err := analyze.Detect(res, analyze.DefaultDetectOptions())
	if err != nil {
		panic(err)
	}
	for _, c := range d.Changes {
		fmt.Printf("%s (%s to %s): %s\n", c.At.Format(time.RFC3339), c.Low.Format("15:04"), c.High.Format("15:04"), c.Effects[0].Describe())
	}
	// Output:
	// 2025-09-10T05:00:00Z (05:00 to 05:00): production 500 share 0.0% → 50.0%
}
