package e2e

import (
	"context"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dataset/datasettest"
	"github.com/cflens/cflens/ingest/loggen"
)

// closeCounter counts the rows committed to it, the objects begun by key
// and the calls to Close.
type closeCounter struct {
	mu     sync.Mutex
	rows   int64
	begun  map[string]int
	closes int
}

func (c *closeCounter) Begin(_ context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.begun == nil {
		c.begun = map[string]int{}
	}
	c.begun[ref.Key]++
	return &counterObject{c: c}, nil
}

func (c *closeCounter) Close(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes++
	return nil
}

type counterObject struct {
	c    *closeCounter
	rows int64
}

func (o *counterObject) Write(b arrow.RecordBatch) error { o.rows += b.NumRows(); return nil }
func (o *counterObject) Commit() error {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	o.c.rows += o.rows
	return nil
}
func (o *counterObject) Abort() {}

// TestReadParallelClosesOnce reads a dataset of many hour partitions with
// several readers at once, and checks that every file is read once,
// every row arrives once, and the sink is closed exactly once
// (ingest.Sink's contract), also when the read fails.
func TestReadParallelClosesOnce(t *testing.T) {
	ctx := context.Background()
	sc := loggen.DefaultScenario(0.02)
	logs, dir := t.TempDir(), t.TempDir()
	if _, err := loggen.WriteDir(ctx, sc, logs); err != nil {
		t.Fatal(err)
	}
	sum := datasettest.Ingest(t, dir, logs)
	st, err := dataset.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 4} {
		sink := &closeCounter{}
		c, err := dataset.ReadParallel(ctx, st, dataset.ReadOptions{}, n, sink)
		if err != nil {
			t.Fatal(err)
		}
		if sink.closes != 1 || sink.rows != sum.Rows || c.Rows != sum.Rows {
			t.Errorf("%d readers: %d closes, %d rows committed, %d counted; want 1 close and %d rows", n, sink.closes, sink.rows, c.Rows, sum.Rows)
		}
		files, err := dataset.Files(ctx, st, dataset.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) < 4 {
			t.Fatalf("%d data files; the test needs several per reader", len(files))
		}
		want := map[string]int{}
		for _, f := range files {
			want[f.Key] = 1
		}
		if diff := cmp.Diff(want, sink.begun); diff != "" {
			t.Errorf("%d readers: objects begun by key (-want +got):\n%s", n, diff)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	sink := &closeCounter{}
	if _, err := dataset.ReadParallel(cancelled, st, dataset.ReadOptions{}, 4, sink); err == nil {
		t.Error("a cancelled read returned no error")
	}
	if sink.closes != 1 {
		t.Errorf("a failed read closed the sink %d times, want 1", sink.closes)
	}
}
