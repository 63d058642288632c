package dataset

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// gateStore holds every data file write until gate is closed, keeping
// the background writer busy.
type gateStore struct {
	*DirStore
	gate chan struct{}
}

func (g *gateStore) Create(ctx context.Context, key string) (PendingFile, error) {
	if strings.HasSuffix(key, dataSuffix) {
		<-g.gate
	}
	return g.DirStore.Create(ctx, key)
}

// TestCommitCancelledKeepsOthers cancels an object's Commit while it
// waits for the busy background writer (as an interrupt does): that
// object is given back, and the objects committed before it into the same
// buffer are still written on Close, so the run's summary, which counts
// them, matches the dataset.
func TestCommitCancelledKeepsOthers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &gateStore{DirStore: d, gate: make(chan struct{})}
	w, err := NewWriter(context.Background(), st, Options{BufferBytes: 64 << 10, CompactRows: -1, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	big := func(key string, seed uint64) object {
		data := genLog(hour0, time.Hour, 3000, seed)
		return object{ref: ingestRef(key, "E1", data), data: data}
	}
	a, b := big("a.log", 1), big("b.log", 2)
	cdata := genLog(hour0, time.Hour, 1, 3)
	c := object{ref: ingestRef("c.log", "E1", cdata), data: cdata}

	commit := func(ctx context.Context, o object) error {
		batches := parseLog(t, mem, o.ref, o.data)
		os, err := w.Begin(ctx, o.ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range batches {
			if err := os.Write(x); err != nil {
				t.Fatal(err)
			}
			x.Release()
		}
		return os.Commit()
	}
	if err := commit(context.Background(), a); err != nil { // fills a buffer: the writer takes it and waits at the gate
		t.Fatal(err)
	}
	if err := commit(context.Background(), c); err != nil { // small: stays in the next buffer
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- commit(ctx, b) }() // fills that buffer, and waits for the writer
	select {
	case err := <-done:
		t.Fatalf("commit of b returned %v before the writer was free", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled commit returned %v, want context.Canceled", err)
	}
	close(st.gate)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	w2, err := NewWriter(context.Background(), d, Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close(context.Background())
	for _, tc := range []struct {
		o    object
		want bool
	}{{a, true}, {c, true}, {b, false}} {
		if got := w2.Has(tc.o.ref); got != tc.want {
			t.Errorf("dataset has %s: %v, want %v", tc.o.ref.Key, got, tc.want)
		}
	}
	var rows int64
	for _, f := range w2.Files() {
		rows += f.Rows
	}
	if rows != 3001 {
		t.Errorf("dataset holds %d rows, want 3001 (a and c)", rows)
	}
}
