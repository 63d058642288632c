package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

// row is one request of a hand-built batch.
type row struct {
	ts     time.Time
	dist   string
	role   string
	status int32 // -1: null
	stem   string
	result string // x-edge-result-type; the other two get the same value
	// response, when set, is the x-edge-response-result-type instead.
	response string
}

// projected is the schema of the columns the aggregator asks for.
func projected() *arrow.Schema {
	fs := make([]arrow.Field, len(aggColumns))
	for i, c := range aggColumns {
		fs[i] = schema.Arrow().Field(c)
	}
	return arrow.NewSchema(fs, nil)
}

// makeBatch builds a batch of the projected columns, in the shape the
// parser gives: dictionary-encoded strings, millisecond UTC timestamps.
func makeBatch(t testing.TB, mem memory.Allocator, rows []row) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, projected())
	defer b.Release()
	dict := func(i int, s string) {
		db := b.Field(i).(*array.BinaryDictionaryBuilder)
		if s == "" {
			db.AppendNull()
			return
		}
		if err := db.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts.UnixMilli()))
		dict(1, r.dist)
		dict(2, r.role)
		if r.status < 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Int32Builder).Append(r.status)
		}
		b.Field(4).(*array.StringBuilder).Append(r.stem)
		dict(5, r.result)
		if r.response != "" {
			dict(6, r.response)
		} else {
			dict(6, r.result)
		}
		dict(7, r.result)
	}
	return b.NewRecordBatch()
}

var day = time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)

func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// twoWindows: custom errors off on both until 08:00, on production from
// then on; policy weighted 15% throughout.
func twoWindows() *Timeline {
	return &Timeline{
		Distributions: Distributions{Production: "EPROD", Staging: "ESTAGE"},
		Changes: []Change{
			{At: at(0, 0), Role: "production", CustomErrorResponses: ptr(false)},
			{At: at(0, 0), Role: "staging", CustomErrorResponses: ptr(false)},
			{At: at(0, 0), ContinuousDeployment: &PolicyChange{Enabled: ptr(true), Type: ptr("weighted"), Weight: ptr(0.15), Sticky: ptr(false)}},
			{At: at(8, 0), Role: "production", CustomErrorResponses: ptr(true)},
		},
	}
}

// feed writes objects (each a list of batches of rows) through the sink
// and commits them.
func feed(t testing.TB, a *Aggregator, mem memory.Allocator, objects ...[][]row) {
	t.Helper()
	for i, batches := range objects {
		obj, err := a.Begin(context.Background(), ingest.ObjectRef{Key: "obj" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		for _, rows := range batches {
			b := makeBatch(t, mem, rows)
			err := obj.Write(b)
			b.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := obj.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func newTestAggregator(t testing.TB, mod func(*Options)) *Aggregator {
	t.Helper()
	opts := DefaultOptions()
	opts.Timeline = twoWindows()
	opts.From, opts.To = at(0, 0), at(24, 0)
	opts.Settle = 2 * time.Minute
	if mod != nil {
		mod(&opts)
	}
	a, err := NewAggregator(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func cellOf(t *testing.T, res *Result, window int, role string) Cell {
	t.Helper()
	for _, c := range res.Cells {
		if c.Window == window && c.Role == role {
			return c
		}
	}
	t.Fatalf("no cell window %d %s", window, role)
	return Cell{}
}

func TestAggregatorCells(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, nil)

	prod := func(ts time.Time, status int32, stem string) row {
		return row{ts: ts, dist: "EPROD", status: status, stem: stem, result: map[bool]string{true: "Error", false: "Hit"}[status >= 400]}
	}
	stg := func(ts time.Time, status int32, stem string) row {
		r := prod(ts, status, stem)
		r.dist = "ESTAGE"
		return r
	}
	feed(t, a, mem,
		// Object 1: window 1, /missing never succeeds, /index.html does
		// (later, in object 2 only, for /late.html).
		[][]row{{
			prod(at(1, 0), 404, "/missing"),
			prod(at(1, 5), 200, "/index.html"),
			prod(at(2, 0), 404, "/late.html"),
			stg(at(3, 0), 404, "/missing"),
			prod(at(25, 0), 404, "/missing"),                        // out of range
			{ts: at(4, 0), dist: "EOTHER", status: 200, stem: "/x"}, // unknown role
		}},
		// Object 2: window 2 (from 08:00, settle to 08:02).
		[][]row{{
			prod(at(8, 1), 500, "/missing"), // settling
			prod(at(9, 0), 500, "/missing"),
			prod(at(9, 1), 404, "/missing"),
			prod(at(9, 2), 500, "/missing"),
			stg(at(9, 3), 500, "/missing"),
			prod(at(9, 4), 200, "/late.html"),                                // /late.html becomes a good path
			prod(at(9, 5), 500, "/late.html"),                                // a 500 on a good path
			{ts: at(9, 6), role: "production", status: -1, stem: "/missing"}, // role from the role column, null status
		}},
	)
	res := a.Result()

	if got, want := res.Input, (Input{Objects: 2, Rows: 14, Analyzed: 11, OutOfRange: 1, Settling: 1, UnknownRole: 1}); got != want {
		t.Errorf("input = %+v, want %+v", got, want)
	}
	if res.ErrorPaths.Stems != 3 || res.ErrorPaths.Error != 1 || res.ErrorPaths.Top[0].Stem != "/missing" {
		t.Errorf("error paths = %+v, want 1 error path /missing of 3", res.ErrorPaths)
	}

	p1 := cellOf(t, res, 1, "production")
	if p1.Requests != 3 || p1.ErrorPathRequests != 1 || p1.ErrorPath500 != 0 || p1.GoodPathRequests != 2 {
		t.Errorf("window 1 production = %+v", p1)
	}
	p2 := cellOf(t, res, 2, "production")
	want := map[string]int64{"200": 1, "404": 1, "500": 3, "null": 1}
	if d := cmp.Diff(want, p2.Status); d != "" {
		t.Errorf("window 2 production status (-want +got):\n%s", d)
	}
	if p2.Requests != 6 || p2.ErrorPathRequests != 4 || p2.ErrorPath500 != 2 || p2.GoodPath500 != 1 || p2.Status500 != 3 {
		t.Errorf("window 2 production = %+v", p2)
	}
	if p2.Rate500 != 0.5 || p2.Rate500CI95 != Wilson(2, 4, z95) {
		t.Errorf("window 2 production rate = %v %v, want 0.5 %v", p2.Rate500, p2.Rate500CI95, Wilson(2, 4, z95))
	}
	if d := cmp.Diff(map[string]int64{"Error": 3}, p2.ResultTypes500); d != "" {
		t.Errorf("result types of 500s (-want +got):\n%s", d)
	}
	s2 := cellOf(t, res, 2, "staging")
	if s2.Requests != 1 || s2.ErrorPath500 != 1 || s2.Rate500 != 1 {
		t.Errorf("window 2 staging = %+v", s2)
	}
	if len(res.ErrorPaths.TopGood500) != 1 || res.ErrorPaths.TopGood500[0] != (PathCount{Stem: "/late.html", Requests: 3, Status500: 1}) {
		t.Errorf("good paths with 500 = %+v", res.ErrorPaths.TopGood500)
	}
}

func TestAggregatorAbortNeverCounts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, nil)
	rows := []row{
		{ts: at(9, 0), dist: "EPROD", status: 500, stem: "/missing", result: "Error"},
		{ts: at(9, 1), dist: "EPROD", status: 404, stem: "/missing", result: "Error"},
	}
	ref := ingest.ObjectRef{Key: "E.2025-09-10-09.abc.gz"}
	// First attempt: one batch written, then the read breaks.
	obj, err := a.Begin(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	b := makeBatch(t, mem, rows)
	if err := obj.Write(b); err != nil {
		t.Fatal(err)
	}
	obj.Abort()
	// Second attempt: the whole object.
	obj, err = a.Begin(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := obj.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := obj.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Release()
	if err := obj.Write(b); err == nil {
		t.Error("write after commit: no error")
	}
	res := a.Result()
	p := cellOf(t, res, 2, "production")
	if p.Requests != 2 || p.ErrorPath500 != 1 {
		t.Errorf("after abort and retry: requests %d, 500 %d; want 2 and 1", p.Requests, p.ErrorPath500)
	}
	if res.Input.Objects != 1 || res.Input.AbortedObjects != 1 {
		t.Errorf("objects %d aborted %d, want 1 and 1", res.Input.Objects, res.Input.AbortedObjects)
	}
}

func TestAggregatorMemoryBounded(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, nil)
	// 20 000 rows over 2 hours, 10 stems: the aggregates hold keys, not rows.
	var rows []row
	for i := range 20000 {
		rows = append(rows, row{ts: at(9, 0).Add(time.Duration(i) * 360 * time.Millisecond), dist: "EPROD",
			status: 200, stem: "/p" + string(rune('a'+i%10)), result: "Hit"})
	}
	feed(t, a, mem, [][]row{rows[:10000], rows[10000:]})
	if n := len(a.global.fine.keys); n > 2*24 { // 5-minute buckets over 2 hours
		t.Errorf("%d fine keys for 2 hours of one role, want at most 48", n)
	}
	if a.merged.len() != 10 || a.spill != nil {
		t.Errorf("merged stem table of %d stems (spilled: %v), want 10 in memory", a.merged.len(), a.spill != nil)
	}
}

// spillRows returns objects of rows over many stems: scanner probes seen
// once, pages that succeed, stems that fail in the first object and
// succeed in the last one, and good paths with 500s.
func spillRows() [][][]row { return spillRowsOf(3, 6000, 2) }

// spillRowsOf returns objects such rows: n objects of perObject rows in
// batches of the same size.
func spillRowsOf(n, perObject, batches int) [][][]row {
	objs := make([][][]row, n)
	for o := range objs {
		var rows []row
		for i := range perObject {
			ts := at(1+(i%20), (i/20)%60)
			if ts.After(at(8, 0)) && ts.Before(at(8, 2)) {
				ts = ts.Add(5 * time.Minute) // out of the settle margin
			}
			dist := []string{"EPROD", "ESTAGE"}[i%2]
			var r row
			switch i % 4 {
			case 0:
				r = row{status: 404, stem: fmt.Sprintf("/scan/%d/%d", o, i), result: "Error"}
				if i%12 == 0 {
					r.status = 500
				}
			case 1:
				r = row{status: 200, stem: fmt.Sprintf("/page/%d", i%500), result: "Hit"}
				if i%40 == 1 {
					r.status = 500
				}
			case 2:
				r = row{status: 404, stem: fmt.Sprintf("/flip/%d", i%300), result: "Error"}
				if o == n-1 {
					r.status = 200
				}
			case 3:
				r = row{status: 500, stem: fmt.Sprintf("/err/%d", i%50), result: "Error"}
			}
			r.ts, r.dist = ts, dist
			rows = append(rows, r)
		}
		for b := range batches {
			objs[o] = append(objs[o], rows[b*perObject/batches:(b+1)*perObject/batches])
		}
	}
	return objs
}

// setSubSplit sets the size past which spilled partitions are split, for
// the rest of the test. Tests that call it must not be parallel.
func setSubSplit(t *testing.T, n int64) {
	old := subSplitBytes
	subSplitBytes = n
	t.Cleanup(func() { subSplitBytes = old })
}

// TestAggregatorSpill classifies the same rows with a budget so small
// that the stem tables are spilled many times, and requires the same
// result, byte for byte, as a run that keeps everything in memory.
func TestAggregatorSpill(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	run := func(objs [][][]row, budget int64, regex bool) (result []byte, openRun bool) {
		spillDir := t.TempDir()
		a := newTestAggregator(t, func(o *Options) {
			o.MemoryBudget, o.SpillDir, o.TopPaths = budget, spillDir, 7
			if regex {
				o.ErrorPath = regexp.MustCompile(`^/(scan|flip)/`)
			}
		})
		feed(t, a, mem, objs...)
		// An object spilled and then abandoned leaves nothing behind.
		obj, err := a.Begin(context.Background(), ingest.ObjectRef{Key: "abandoned"})
		if err != nil {
			t.Fatal(err)
		}
		b := makeBatch(t, mem, objs[0][0])
		if err := obj.Write(b); err != nil {
			t.Fatal(err)
		}
		b.Release()
		obj.Abort()
		runs, direct := 0, false
		if a.spill != nil {
			runs, direct = a.spill.runs, a.spill.open != nil
		}
		if err := a.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		res := a.Result()
		if again := a.Result(); !reflect.DeepEqual(res, again) {
			t.Error("a second Result differs from the first")
		}
		if err := a.Release(); err != nil {
			t.Fatal(err)
		}
		if ents, err := os.ReadDir(spillDir); err != nil || len(ents) != 0 {
			t.Errorf("spill folder after Release: %d entries, %v", len(ents), err)
		}
		if res.ErrorPaths.Error == 0 || len(res.ErrorPaths.TopGood500) == 0 {
			t.Fatalf("no error paths or no good paths with 500s: %+v", res.ErrorPaths)
		}
		js, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d objects, budget %d: %d spill runs (objects added to an open run: %v), %d stems, %d error paths",
			len(objs), budget, runs, direct, res.ErrorPaths.Stems, res.ErrorPaths.Error)
		if budget < DefaultMemoryBudget && runs < 2 {
			t.Errorf("budget %d: %d spill runs, want several", budget, runs)
		}
		if budget == DefaultMemoryBudget && runs != 0 {
			t.Errorf("budget %d: %d spill runs, want none", budget, runs)
		}
		return js, direct
	}
	for _, regex := range []bool{false, true} {
		// Three objects of two large batches, with a budget so small
		// that every batch spills the object's table; and many small
		// objects, with a budget that their tables stay within and the
		// merged table does not, spilled once, past which the objects'
		// tables go to the open run whole.
		for _, c := range []struct {
			objs    [][][]row
			budget  int64
			openRun bool // whether objects are to go to the open run
		}{{spillRows(), 16 << 10, false}, {spillRowsOf(200, 1000, 1), 2 << 20, true}} {
			whole, _ := run(c.objs, DefaultMemoryBudget, regex)
			// Partitions this small are merged whole; split them too.
			for _, split := range []int64{subSplitBytes, 0} {
				setSubSplit(t, split)
				spilled, openRun := run(c.objs, c.budget, regex)
				if openRun != c.openRun {
					t.Errorf("%d objects, budget %d: objects added to an open run: %v, want %v", len(c.objs), c.budget, openRun, c.openRun)
				}
				if !bytes.Equal(whole, spilled) {
					t.Errorf("regex %v, %d objects, budget %d, partitions split past %d bytes: results differ\nin memory: %s\nspilled:   %s",
						regex, len(c.objs), c.budget, split, whole, spilled)
				}
			}
		}
	}
}

// TestOpenRunReadBetweenCommits reads the result of an aggregate whose
// objects go to the open spill run, commits more objects to that run,
// and reads again: each result is, byte for byte, that of an aggregate
// of the same objects kept in memory. Reading writes out what the run
// had gathered; what is added after must neither be lost nor count
// twice.
func TestOpenRunReadBetweenCommits(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	objs := spillRowsOf(200, 1000, 1)
	result := func(a *Aggregator) []byte {
		t.Helper()
		js, err := json.Marshal(a.Result())
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	spilled := newTestAggregator(t, func(o *Options) { o.MemoryBudget, o.SpillDir = 2<<20, t.TempDir() })
	defer spilled.Release()
	whole := newTestAggregator(t, nil)
	defer whole.Release()
	for _, cut := range []int{120, 160, 200} {
		done := int(whole.objects)
		feed(t, spilled, mem, objs[done:cut]...)
		feed(t, whole, mem, objs[done:cut]...)
		if spilled.spill == nil || spilled.spill.open == nil {
			t.Fatalf("%d objects: no open spill run; the test needs one", cut)
		}
		if got, want := result(spilled), result(whole); !bytes.Equal(got, want) {
			t.Errorf("%d objects: results differ\nin memory: %s\nspilled:   %s", cut, want, got)
		}
	}
}

// TestResultWhileObjectsSpill takes results of an aggregate whose stems
// are spilled while other objects are being read, each large enough to
// spill its own table: the classifying pass reads the runs it found
// while new ones are written (run it with -race). Once every object is
// committed, the result is that of the same objects held in memory.
func TestResultWhileObjectsSpill(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	small := spillRowsOf(120, 1000, 1)
	large := spillRowsOf(3, 100000, 20)
	spilled := newTestAggregator(t, func(o *Options) { o.MemoryBudget, o.SpillDir = 2<<20, t.TempDir() })
	defer spilled.Release()
	feed(t, spilled, mem, small...)
	// The batches are made here: makeBatch may stop the test, which only
	// the test's goroutine may do.
	batches := make([][]arrow.RecordBatch, len(large))
	for i, rows := range large {
		for _, r := range rows {
			batches[i] = append(batches[i], makeBatch(t, mem, r))
		}
	}
	done := make(chan error)
	go func() {
		for i, bs := range batches {
			obj, err := spilled.Begin(context.Background(), ingest.ObjectRef{Key: fmt.Sprint("large", i)})
			if err != nil {
				done <- err
				return
			}
			for _, b := range bs {
				if err := obj.Write(b); err != nil {
					done <- err
					return
				}
			}
			if err := obj.Commit(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	results := 0
	for reading := true; reading; results++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			reading = false
		default:
		}
		res := spilled.Result()
		if slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "path classification") }) {
			t.Errorf("result %d: warnings %q", results, res.Warnings)
		}
	}
	for _, bs := range batches {
		for _, b := range bs {
			b.Release()
		}
	}
	t.Logf("%d results taken while reading; %d spill runs", results, spilled.spill.runs)
	if spilled.spill.runs < 3 {
		t.Fatalf("%d spill runs; the test needs objects spilling their own", spilled.spill.runs)
	}
	whole := newTestAggregator(t, nil)
	defer whole.Release()
	feed(t, whole, mem, small...)
	feed(t, whole, mem, large...)
	got, err := json.Marshal(spilled.Result())
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(whole.Result())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("results differ after %d taken while reading\nin memory: %s\nspilled:   %s", results, want, got)
	}
}

// TestOpenRunWriteFails: once a write to the open spill run fails, the
// commit says so, and so does every result after it, rather than
// classify paths with stems missing.
func TestOpenRunWriteFails(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	objs := spillRowsOf(200, 1000, 1)
	a := newTestAggregator(t, func(o *Options) { o.MemoryBudget, o.SpillDir = 2<<20, t.TempDir() })
	defer a.Release()
	feed(t, a, mem, objs[:120]...)
	if a.spill == nil || a.spill.open == nil {
		t.Fatal("no open spill run; the test needs one")
	}
	a.spill.open.f.Close() // every write to it now fails
	failed := 0
	for i, batches := range objs[120:] {
		obj, err := a.Begin(context.Background(), ingest.ObjectRef{Key: fmt.Sprint("late", i)})
		if err != nil {
			t.Fatal(err)
		}
		b := makeBatch(t, mem, batches[0])
		err = obj.Write(b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		if err := obj.Commit(); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no commit failed after the open run's file was closed")
	}
	for range 2 {
		res := a.Result()
		if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "path classification incomplete") }) {
			t.Errorf("warnings %q, want the path classification incomplete", res.Warnings)
		}
	}
}

// TestTalliesKeptUntilCommit: the tallies of a spilled aggregate are
// computed once and shared until an object is committed or aborted,
// which makes the next call count again, the new rows and abort
// included.
func TestTalliesKeptUntilCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, func(o *Options) { o.MemoryBudget, o.SpillDir = 16<<10, t.TempDir() })
	defer a.Release()
	objs := spillRows()
	feed(t, a, mem, objs[:2]...)
	first, err := a.Tallies()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := a.Tallies(); err != nil || again != first {
		t.Errorf("a second call without a commit between: %p, %v; want the first tallies, %p", again, err, first)
	}
	if a.spill == nil || a.spill.runs == 0 {
		t.Fatal("nothing spilled; the test needs spill runs")
	}
	feed(t, a, mem, objs[2:]...)
	after, err := a.Tallies()
	if err != nil {
		t.Fatal(err)
	}
	if after == first || after.rows+after.settling+after.outOfRange <= first.rows+first.settling+first.outOfRange {
		t.Errorf("after a commit: rows %d, first tallies %d; want new tallies with more rows", after.rows, first.rows)
	}
	obj, err := a.Begin(context.Background(), ingest.ObjectRef{Key: "abandoned"})
	if err != nil {
		t.Fatal(err)
	}
	obj.Abort()
	aborted, err := a.Tallies()
	if err != nil {
		t.Fatal(err)
	}
	if aborted == after || aborted.aborted != 1 {
		t.Errorf("after an abort: %d aborted, same tallies %v; want new tallies with 1", aborted.aborted, aborted == after)
	}
}

func TestAggregatorErrorPathRegex(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, func(o *Options) { o.ErrorPath = regexp.MustCompile(`^/missing`) })
	feed(t, a, mem, [][]row{{
		{ts: at(9, 0), dist: "EPROD", status: 200, stem: "/missing/a", result: "Error"}, // a 200 does not make it good
		{ts: at(9, 1), dist: "EPROD", status: 500, stem: "/missing/b", result: "Error"},
		{ts: at(9, 2), dist: "EPROD", status: 404, stem: "/other", result: "Error"},
	}})
	res := a.Result()
	p := cellOf(t, res, 2, "production")
	if p.ErrorPathRequests != 2 || p.ErrorPath500 != 1 || p.GoodPathRequests != 1 {
		t.Errorf("cell = %+v, want 2 error-path requests, one 500, 1 good", p)
	}
	if res.ErrorPathRule != "regex:^/missing" || res.ErrorPaths.Error != 2 {
		t.Errorf("rule %q, %d error paths; want regex and 2", res.ErrorPathRule, res.ErrorPaths.Error)
	}
}

func TestAggregatorTimezone(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	tests := []struct {
		name     string
		loc      *time.Location
		wantHour int
		wantDay  int
	}{
		{"utc", time.UTC, 23, 3}, // Wednesday 23:30 UTC
		{"paris", paris, 1, 4},   // Thursday 01:30 CEST
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAggregator(t, func(o *Options) { o.Location = tt.loc })
			feed(t, a, mem, [][]row{{{ts: at(23, 30), dist: "EPROD", status: 200, stem: "/", result: "Hit"}}})
			res := a.Result()
			for _, h := range res.Hours {
				if want := int64(0); h.Role == "production" && h.Hour == tt.wantHour {
					want = 1
					if h.Requests != want {
						t.Errorf("hour %d requests = %d, want 1", h.Hour, h.Requests)
					}
				} else if h.Requests != 0 {
					t.Errorf("%s hour %d requests = %d, want 0", h.Role, h.Hour, h.Requests)
				}
			}
			for _, d := range res.Weekdays {
				if d.Role == "production" && d.Requests > 0 && d.Day != tt.wantDay {
					t.Errorf("request on day %d (%s), want %d", d.Day, d.Name, tt.wantDay)
				}
			}
		})
	}
}

func TestAggregatorUnboundedRangeDropsEmptyWindows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, func(o *Options) { o.From, o.To = time.Time{}, time.Time{} })
	feed(t, a, mem, [][]row{{
		{ts: at(9, 0), dist: "EPROD", status: 500, stem: "/missing", result: "Error"},
		{ts: at(10, 0), dist: "ESTAGE", status: 404, stem: "/missing", result: "Error"},
	}})
	res := a.Result()
	if want := (Range{From: at(9, 0), To: at(10, 0).Add(time.Millisecond)}); res.Range != want {
		t.Errorf("range = %v, want %v", res.Range, want)
	}
	// Before 00:00 and 00:00–08:00 hold no rows and lie before them.
	if len(res.Windows) != 1 || res.Windows[0].ID != 1 || !res.Windows[0].From.Equal(at(8, 0)) || !res.Windows[0].To.Equal(res.Range.To) {
		t.Fatalf("windows = %+v, want one from 08:00 to the last row", res.Windows)
	}
	if p := cellOf(t, res, 1, "production"); p.ErrorPath500 != 1 {
		t.Errorf("window 1 production 500s = %d, want 1", p.ErrorPath500)
	}
	if len(res.Cells) != 2 {
		t.Errorf("%d cells, want 2", len(res.Cells))
	}
}

// TestAggregatorHourAcrossOffsetChange: rows of one batch, in and out of
// order, across the end of summer time in Paris (01:00 UTC on 26 October
// 2025, when local 03:00 becomes 02:00 again) and in a zone half an hour
// off the hour, land in the local hour time.Time gives them.
func TestAggregatorHourAcrossOffsetChange(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	start := time.Date(2025, 10, 25, 22, 0, 0, 0, time.UTC)
	var rows []row
	for m := 0; m < 6*60; m += 7 {
		rows = append(rows, row{ts: start.Add(time.Duration(m) * time.Minute), dist: "EPROD", status: 200, stem: "/", result: "Hit"})
	}
	// Back and forth in time, as objects that overlap give them.
	rows = append(rows, rows[3], rows[40], rows[5], rows[len(rows)-1], rows[0])
	for _, loc := range []*time.Location{paris, time.FixedZone("+05:30", 5*3600+1800)} {
		t.Run(loc.String(), func(t *testing.T) {
			a := newTestAggregator(t, func(o *Options) {
				o.Location = loc
				o.From, o.To = start, start.Add(24*time.Hour)
			})
			feed(t, a, mem, [][]row{rows})
			want := map[int]int64{}
			for _, r := range rows {
				want[r.ts.In(loc).Hour()]++
			}
			got := map[int]int64{}
			for _, h := range a.Result().Hours {
				if h.Role == "production" && h.Requests > 0 {
					got[h.Hour] = h.Requests
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("requests by local hour (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAggregatorStemsOfOneLength: stems of the same length share a slot
// of the last-stem cache; each still counts on its own, in any order,
// with a stem of another length between them.
func TestAggregatorStemsOfOneLength(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	stems := []string{"/a1", "/b2", "/a1", "/a1", "/longer", "/b2", "/c3", "/a1"}
	var rows []row
	want := map[string]int64{}
	for i, s := range stems {
		rows = append(rows, row{ts: at(9, i), dist: "EPROD", status: 500, stem: s, result: "Error"})
		want[s]++
	}
	a := newTestAggregator(t, nil)
	feed(t, a, mem, [][]row{rows[:5], rows[5:]})
	got := map[string]int64{}
	for _, p := range a.Result().ErrorPaths.Top {
		got[p.Stem] = p.Requests
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests by stem (-want +got):\n%s", diff)
	}
}

// TestAggregatorUnknownDistributions: rows of distributions that are
// neither production nor staging are counted by ID, and the message of
// an empty analysis names them with their counts.
func TestAggregatorUnknownDistributions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, nil)
	var rows []row
	for i := range 5 {
		rows = append(rows, row{ts: at(9, i), dist: "EOTHERONE", status: 200, stem: "/"})
	}
	rows = append(rows, row{ts: at(9, 7), dist: "EOTHERTWO", status: 200, stem: "/"})
	feed(t, a, mem, [][]row{rows[:3]}, [][]row{rows[3:]})
	got := a.UnknownDistributions()
	want := []IDCount{{"EOTHERONE", 5}, {"EOTHERTWO", 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown distributions (-want +got):\n%s", diff)
	}
	res := a.Result()
	msg := NoRows(res, got, true)
	for _, s := range []string{"2 objects, 6 rows read", "EOTHERONE (5 rows), EOTHERTWO (1 rows)", "production (EPROD)", "pass --production and --staging"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
}

// TestAggregatorHiddenErrors: an Error result with a 2xx is a failure a
// custom error response hid when the response result type is Error too,
// a viewer that disconnected when it is another; neither makes its path
// good.
func TestAggregatorHiddenErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, nil)
	rows := []row{
		{ts: at(9, 0), dist: "EPROD", status: 200, stem: "/gone", result: "Error"},
		{ts: at(9, 1), dist: "EPROD", status: 200, stem: "/gone", result: "Error"},
		{ts: at(9, 2), dist: "EPROD", status: 404, stem: "/gone", result: "Error"},
		{ts: at(9, 3), dist: "EPROD", status: 200, stem: "/", result: "Error", response: "Hit"},
		{ts: at(9, 4), dist: "EPROD", status: 0, stem: "/", result: "Error", response: "Miss"},
		{ts: at(9, 5), dist: "EPROD", status: 200, stem: "/", result: "Hit"},
		{ts: at(9, 6), dist: "ESTAGE", status: 200, stem: "/gone", result: "Error"},
	}
	feed(t, a, mem, [][]row{rows})
	res := a.Result()
	p, s := cellOf(t, res, 2, "production"), cellOf(t, res, 2, "staging")
	if p.HiddenErrors != 2 || p.ClientDisconnects != 2 || s.HiddenErrors != 1 {
		t.Errorf("production hidden %d, disconnects %d; staging hidden %d; want 2, 2, 1", p.HiddenErrors, p.ClientDisconnects, s.HiddenErrors)
	}
	if res.ErrorPaths.Error != 1 || len(res.ErrorPaths.Top) != 1 || res.ErrorPaths.Top[0].Stem != "/gone" {
		t.Errorf("error paths %+v, want /gone only", res.ErrorPaths)
	}
}

// TestPeakHoursCountClockHours: a change at 19:30 cuts a peak hour in
// two windows; the hour is listed per window but counted once, as a
// clock hour, in the hours of day and in the finding.
func TestPeakHoursCountClockHours(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := newTestAggregator(t, func(o *Options) {
		tl := twoWindows()
		tl.Changes[3].At = at(19, 30)
		o.Timeline = tl
	})
	var rows []row
	for h := range 24 {
		peak := h >= 18 && h <= 20
		for i := range 300 {
			ts := at(h, 0).Add(time.Duration(i) * 12 * time.Second)
			dist := "EPROD"
			if !peak && i%7 == 0 {
				dist = "ESTAGE"
			}
			rows = append(rows, row{ts: ts, dist: dist, status: 200, stem: "/", result: "Hit"})
		}
	}
	feed(t, a, mem, [][]row{rows})
	res := a.Result()
	if n := len(res.PeakHours.Hours); n != 4 {
		t.Fatalf("%d peak hour pieces, want 4 (18:00, 19:00 twice, 20:00): %+v", n, res.PeakHours.Hours)
	}
	for _, h := range res.Hours {
		want := 0
		if h.Hour >= 18 && h.Hour <= 20 {
			want = 1
		}
		if h.PeakHours != want {
			t.Errorf("%s hour %d: %d peak hours, want %d", h.Role, h.Hour, h.PeakHours, want)
		}
	}
	found := false
	for _, f := range res.Findings {
		found = found || f.Kind == "peak_hours" && strings.HasPrefix(f.Statement, "In 3 clock hours (hours of day 18, 19, 20") && f.Evidence["peak_hours"] == 3
	}
	if !found {
		t.Errorf("no peak hours finding counting 3 clock hours: %+v", res.Findings)
	}
}

// withSharedStemDict returns b with its stem column dictionary-encoded
// over dict, the way a Parquet reader hands every batch of a column
// chunk the same dictionary.
func withSharedStemDict(t *testing.T, mem memory.Allocator, b arrow.RecordBatch, dict *array.String, pos map[string]int32) arrow.RecordBatch {
	t.Helper()
	col := slices.Index(aggColumns[:], schema.CsURIStem)
	stems := b.Column(col).(*array.String)
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	for i := range stems.Len() {
		ib.Append(pos[stems.Value(i)])
	}
	idx := ib.NewInt32Array()
	defer idx.Release()
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	da := array.NewDictionaryArray(dt, idx, dict)
	defer da.Release()
	fields := slices.Clone(b.Schema().Fields())
	fields[col].Type = dt
	cols := slices.Clone(b.Columns())
	cols[col] = da
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, b.NumRows())
}

// TestAggregatorSharedStemDict feeds the rows of TestAggregatorSpill with
// each object's stems dictionary-encoded over one dictionary shared by
// its batches, whose stems the aggregator looks up once per dictionary,
// not once per batch, and requires the result of plain stems, byte for
// byte: in memory, and with a budget so small that an object's table is
// spilled between two batches of one dictionary.
func TestAggregatorSharedStemDict(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	run := func(budget int64, regex, dict bool) []byte {
		a := newTestAggregator(t, func(o *Options) {
			o.MemoryBudget, o.SpillDir, o.TopPaths = budget, t.TempDir(), 7
			if regex {
				o.ErrorPath = regexp.MustCompile(`^/(scan|flip)/`)
			}
		})
		defer a.Release()
		for i, batches := range spillRows() {
			obj, err := a.Begin(context.Background(), ingest.ObjectRef{Key: fmt.Sprint("obj", i)})
			if err != nil {
				t.Fatal(err)
			}
			// The object's stems, most frequent last, as one dictionary.
			pos := map[string]int32{}
			db := array.NewStringBuilder(mem)
			for _, rows := range batches {
				for _, r := range rows {
					if _, ok := pos[r.stem]; !ok {
						pos[r.stem] = int32(len(pos))
						db.Append(r.stem)
					}
				}
			}
			shared := db.NewStringArray()
			db.Release()
			for _, rows := range batches {
				b := makeBatch(t, mem, rows)
				if dict {
					db := withSharedStemDict(t, mem, b, shared, pos)
					b.Release()
					b = db
				}
				err := obj.Write(b)
				b.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			shared.Release()
			if err := obj.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if spilled := a.spill != nil && a.spill.runs > 0; spilled != (budget < 1<<20) {
			t.Errorf("budget %d: spilled %v", budget, spilled)
		}
		return resultJSON(t, a.Result())
	}
	for _, regex := range []bool{false, true} {
		plain := run(DefaultMemoryBudget, regex, false)
		for _, budget := range []int64{DefaultMemoryBudget, 16 << 10} {
			if got := run(budget, regex, true); !bytes.Equal(got, plain) {
				t.Errorf("regex %v, budget %d: shared dictionary gives\n%s\nplain stems give\n%s", regex, budget, got, plain)
			}
		}
	}
}
