package report

import (
	"io"
	"testing"
	"time"

	"github.com/cflens/cflens/analyze"
)

// bigResult is the fixture with a month of 5-minute buckets for both
// roles (17 280 points), the size of a real monthly report.
func bigResult() *analyze.Result {
	r := fixture()
	r.Range.To = r.Range.From.Add(30 * 24 * time.Hour)
	r.Windows[len(r.Windows)-1].To = r.Range.To
	r.BucketSeconds = 300
	r.Series.Points = r.Series.Points[:0]
	for i := range 30 * 24 * 12 {
		t := r.Range.From.Add(time.Duration(i) * 5 * time.Minute)
		for _, role := range roles {
			r.Series.Points = append(r.Series.Points, analyze.Point{Time: t, Role: role, Requests: 100,
				ErrorPathRequests: 10, ErrorPath500: int64(i % 3), Status500: int64(i % 3), Rate500: float64(i%3) / 10})
		}
	}
	return r
}

func BenchmarkRender(b *testing.B) {
	r := bigResult()
	for _, bm := range []struct {
		name   string
		render func(io.Writer) error
	}{
		{"text", func(w io.Writer) error { return Text(w, r, Options{}) }},
		{"markdown", func(w io.Writer) error { return Markdown(w, r) }},
		{"json", func(w io.Writer) error { return JSON(w, r) }},
		{"csv-series", func(w io.Writer) error { return CSV(w, r, "series") }},
		{"html", func(w io.Writer) error { return HTML(w, r) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			var n countWriter
			for b.Loop() {
				if err := bm.render(&n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "bytes/op")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
