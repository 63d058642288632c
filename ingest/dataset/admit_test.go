package dataset

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest"
)

// admitSoon calls Admit in a goroutine and returns a channel that gets
// its result.
func admitSoon(w *Writer, ctx context.Context, ref ingest.ObjectRef) chan error {
	done := make(chan error, 1)
	go func() {
		release, err := w.Admit(ctx, ref)
		if err == nil {
			defer release()
		}
		done <- err
	}()
	return done
}

// waiting reports whether done stays empty for a moment: the Admit call
// behind it is waiting.
func waiting(done chan error) bool {
	select {
	case <-done:
		return false
	case <-time.After(100 * time.Millisecond):
		return true
	}
}

// within returns what done gets, failing t if nothing comes in 10 s.
func within(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Admit still waits")
		return nil
	}
}

// TestAdmit: an object is admitted at once when no other is read, or
// when it fits in the budget beside those that are; otherwise it waits
// until one is released, or until its context ends. What an admitted
// object's rows take counts, once they take more than its estimate.
func TestAdmit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w, _ := openWriter(t, t.TempDir(), Options{Allocator: mem, BufferBytes: 100_000})
	defer w.Close(context.Background())
	// The budget is admitFactor × 100 000 bytes; before any commit an
	// object is estimated at defaultExpansion times its stored size.
	// Two big objects do not fit together; a big and a small one do.
	big := ingest.ObjectRef{Key: "big.gz", Size: admitFactor*100_000/2/defaultExpansion + 1}
	small := ingest.ObjectRef{Key: "small.gz", Size: 10}

	releaseBig, err := w.Admit(context.Background(), big)
	if err != nil {
		t.Fatal(err)
	}
	if err := within(t, admitSoon(w, context.Background(), small)); err != nil {
		t.Errorf("a small object beside the big one: %v", err)
	}
	second := admitSoon(w, context.Background(), ingest.ObjectRef{Key: "big2.gz", Size: big.Size})
	if !waiting(second) {
		t.Fatal("a second big object was admitted beside the first")
	}
	ctx, cancel := context.WithCancel(context.Background())
	third := admitSoon(w, ctx, ingest.ObjectRef{Key: "big3.gz", Size: big.Size})
	if !waiting(third) {
		t.Fatal("a third big object was admitted")
	}
	cancel()
	if err := within(t, third); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: err = %v, want context.Canceled", err)
	}
	releaseBig()
	if err := within(t, second); err != nil {
		t.Error(err)
	}

	// A small object whose rows grow past the budget holds them: the next
	// one waits for it.
	releaseSmall, err := w.Admit(context.Background(), small)
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.Begin(context.Background(), small)
	if err != nil {
		t.Fatal(err)
	}
	s.(*objectSink).adm.used.Add(admitFactor * 100_000)
	next := admitSoon(w, context.Background(), ingest.ObjectRef{Key: "next.gz", Size: 10})
	if !waiting(next) {
		t.Fatal("an object was admitted beside one whose rows fill the budget")
	}
	s.Abort()
	releaseSmall()
	if err := within(t, next); err != nil {
		t.Error(err)
	}
}

// admitAndCommit writes obj through w as the pipeline does (admitted,
// begun, written, committed, released) and returns the memory of its
// rows, checking that its admission counted them.
func admitAndCommit(t *testing.T, w *Writer, mem memory.Allocator, obj object) int64 {
	t.Helper()
	release, err := w.Admit(context.Background(), obj.ref)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	s, err := w.Begin(context.Background(), obj.ref)
	if err != nil {
		t.Fatal(err)
	}
	var rowBytes int64
	for _, b := range parseLog(t, mem, obj.ref, obj.data) {
		rowBytes += batchBytes(b)
		if err := s.Write(b); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	if got := s.(*objectSink).adm.used.Load(); got != rowBytes {
		t.Errorf("the admission counts %d bytes of rows, the batches took %d", got, rowBytes)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	return rowBytes
}

// TestAdmitLearnsExpansion: after a commit, objects are estimated at the
// memory per stored byte of the objects committed so far.
func TestAdmitLearnsExpansion(t *testing.T) {
	mem := memory.NewGoAllocator()
	w, _ := openWriter(t, t.TempDir(), Options{Allocator: mem})
	defer w.Close(context.Background())
	obj := testObjects(t)[0]
	obj.ref.Size = int64(len(obj.data))
	rowBytes := admitAndCommit(t, w, mem, obj)
	w.adm.mu.Lock()
	got := w.adm.estimateLocked(ingest.ObjectRef{Key: "x", Size: 2 * obj.ref.Size})
	buffered := w.adm.buffered
	w.adm.mu.Unlock()
	if want := 2 * rowBytes; got < want-1 || got > want+1 {
		t.Errorf("estimate of an object twice as large: %d, want %d", got, want)
	}
	if buffered != rowBytes {
		t.Errorf("%d bytes of rows wait for a checkpoint, want %d", buffered, rowBytes)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.adm.buffered != 0 {
		t.Errorf("%d bytes of rows still wait after Close", w.adm.buffered)
	}
}

// TestAdmitCountsBufferedRows: committed rows that wait for a checkpoint
// take room from the objects to come.
func TestAdmitCountsBufferedRows(t *testing.T) {
	mem := memory.NewGoAllocator()
	w, _ := openWriter(t, t.TempDir(), Options{Allocator: mem, BufferBytes: 1 << 30})
	defer w.Close(context.Background())
	admitAndCommit(t, w, mem, testObjects(t)[0])
	// The budget is admitFactor GiB; the rows of the committed object wait
	// in the buffer. An object just larger than what is left waits while
	// another object is read, and is admitted once that one is released.
	w.adm.mu.Lock()
	left := admitFactor*w.o.BufferBytes - w.adm.buffered
	w.adm.mu.Unlock()
	releaseOther, err := w.Admit(context.Background(), ingest.ObjectRef{Key: "other.gz"})
	if err != nil {
		t.Fatal(err)
	}
	w.adm.mu.Lock()
	perByte := float64(w.adm.seenBytes) / float64(w.adm.seenSize)
	w.adm.mu.Unlock()
	tooBig := admitSoon(w, context.Background(), ingest.ObjectRef{Key: "big.gz", Size: int64(float64(left)/perByte) + 100})
	if !waiting(tooBig) {
		t.Fatal("an object larger than the room the buffered rows leave was admitted")
	}
	releaseOther()
	if err := within(t, tooBig); err != nil {
		t.Error(err)
	}
}

// TestAdmitAloneWaitsForLargeCheckpoint: with no other object being read,
// an object is admitted at once unless more than a buffer's worth of rows
// is being written; then it waits for that checkpoint.
func TestAdmitAloneWaitsForLargeCheckpoint(t *testing.T) {
	w, _ := openWriter(t, t.TempDir(), Options{Allocator: memory.NewGoAllocator(), BufferBytes: 1000})
	defer w.Close(context.Background())
	huge := ingest.ObjectRef{Key: "huge.gz", Size: 1 << 30}
	if err := within(t, admitSoon(w, context.Background(), huge)); err != nil {
		t.Fatalf("an object larger than the budget, alone: %v", err)
	}
	w.adm.mu.Lock()
	w.adm.buffered = 1001 // as if a checkpoint were writing a large object
	w.adm.mu.Unlock()
	next := admitSoon(w, context.Background(), huge)
	if !waiting(next) {
		t.Fatal("admitted while more than a buffer's worth of rows is being written")
	}
	w.adm.written(1001)
	if err := within(t, next); err != nil {
		t.Error(err)
	}
}
