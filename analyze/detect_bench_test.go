package analyze

import (
	"testing"
	"time"
)

// BenchmarkDetect30Days1Minute times Detect on 30 days of tallies at
// 1-minute buckets (43 200 buckets per role), with daily peaks and the
// changes of the simulated week repeated: the issue asks for less than
// a second.
func BenchmarkDetect30Days1Minute(b *testing.B) {
	sc, _ := changingScenario()
	sc.hours = 30 * 24
	sc.bucket = time.Minute
	res := sc.result(1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Detect(res, DefaultDetectOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetectWeek5Minute times Detect on a week at 5-minute buckets.
func BenchmarkDetectWeek5Minute(b *testing.B) {
	sc, _ := changingScenario()
	res := sc.result(1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Detect(res, DefaultDetectOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
