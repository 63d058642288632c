package analyze

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest"
)

// benchBatches builds batches of the projected columns as the parser
// gives them: one object per hour and distribution, rows in time order,
// 40 good paths and 7 error paths.
func benchBatches(b *testing.B, mem memory.Allocator, batches, rowsPer int) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(1, 2))
	var good, bad []string
	for i := range 40 {
		good = append(good, fmt.Sprintf("/assets/app-%02d.js", i))
	}
	for i := range 7 {
		bad = append(bad, fmt.Sprintf("/old/page-%d.html", i))
	}
	out := make([]arrow.RecordBatch, batches)
	for k := range out {
		dist := "EPROD"
		if k%7 == 6 {
			dist = "ESTAGE"
		}
		start := at(k%24, 0)
		rows := make([]row, rowsPer)
		for i := range rows {
			rows[i] = row{ts: start.Add(time.Duration(i) * time.Hour / time.Duration(rowsPer)), dist: dist, status: 200, result: "Hit"}
			if r.Float64() < 0.08 {
				rows[i].stem, rows[i].status, rows[i].result = bad[r.IntN(len(bad))], 404, "Error"
				if r.Float64() < 0.15 {
					rows[i].status = 500
				}
			} else {
				rows[i].stem = good[r.IntN(len(good))]
			}
		}
		out[k] = makeBatch(b, mem, rows)
	}
	return out
}

// BenchmarkAnalyzeBatches measures the aggregator alone on projected
// batches, one core: rows per second.
func BenchmarkAnalyzeBatches(b *testing.B) {
	mem := memory.NewGoAllocator()
	n := 16
	if testing.Short() {
		n = 2
	}
	batches := benchBatches(b, mem, n, 64*1024)
	defer func() {
		for _, bt := range batches {
			bt.Release()
		}
	}()
	var rows int64
	for _, bt := range batches {
		rows += bt.NumRows()
	}
	b.ResetTimer()
	for b.Loop() {
		a := newTestAggregator(b, nil)
		for i, bt := range batches {
			obj, err := a.Begin(context.Background(), ingest.ObjectRef{Key: fmt.Sprint(i)})
			if err != nil {
				b.Fatal(err)
			}
			if err := obj.Write(bt); err != nil {
				b.Fatal(err)
			}
			if err := obj.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		if res := a.Result(); res.Input.Analyzed == 0 {
			b.Fatal("nothing analysed")
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// spillBenchTable fills a table as the realistic corpus does: scanner
// probes seen once (an inline row), good paths seen many times, and
// error paths of a few rows under several fine keys.
func spillBenchTable(n int) *stemTable {
	r := rand.New(rand.NewPCG(3, 4))
	tb := newStemTable()
	for i := range n {
		var s string
		switch x := r.IntN(100); {
		case x < 70:
			s = fmt.Sprintf("/wp-admin/%x.php", r.Uint64())
			tb.row(tb.insert(hashStem(s), s, false), int32(r.IntN(400)), 404, false, true)
		case x < 95:
			s = fmt.Sprintf("/catalog/item-%d/detail.html", i)
			k := tb.insert(hashStem(s), s, false)
			for range 1 + r.IntN(20) {
				tb.row(k, int32(r.IntN(400)), 200, false, true)
			}
		default:
			s = fmt.Sprintf("/old/page-%d.html", i)
			k := tb.insert(hashStem(s), s, false)
			for range 2 + r.IntN(6) {
				tb.row(k, int32(r.IntN(400)), []int32{404, 500, 503}[r.IntN(3)], false, true)
			}
		}
	}
	return tb
}

// BenchmarkSpill measures writing a table of stems to a spill run and
// reading every partition of it back into a table, per stem.
func BenchmarkSpill(b *testing.B) {
	const n = 300_000
	tb := spillBenchTable(n)
	b.Run("write", func(b *testing.B) {
		s := &spiller{dir: b.TempDir()}
		for b.Loop() {
			run, err := s.spill(tb)
			if err != nil {
				b.Fatal(err)
			}
			s.remove(run)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/stem")
		b.ReportMetric(float64(s.size)/float64(s.recs), "B/stem")
	})
	b.Run("read", func(b *testing.B) {
		s := &spiller{dir: b.TempDir()}
		run, err := s.spill(tb)
		if err != nil {
			b.Fatal(err)
		}
		rr := s.reader()
		defer rr.close()
		part := newStemTable()
		for b.Loop() {
			for p := range spillPartitions {
				part.reset()
				if err := rr.load(part, p, run); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/stem")
	})
}
