package dataset

import (
	"context"
	"sync/atomic"

	"github.com/cflens/cflens/ingest"
)

// The rows of an object stay in memory until the object is committed (a
// failed object then leaves nothing in the dataset), and committed rows
// stay until a checkpoint writes them. Admit keeps the two within a
// budget: an object is opened only when the objects being read, at what
// their rows take so far or at an estimate of what they will take, and
// the rows waiting for a checkpoint leave room for it. Without it, eight
// workers on two cores held so many rows that the garbage collector ran
// all the time under the memory limit, and ingest took twice as long.
//
// One object is always admitted when no other is being read, however
// large, so that a run never waits for itself.

// admitFactor times BufferBytes is the budget of Admit.
const admitFactor = 2

// defaultExpansion estimates the Arrow memory of an object from its stored
// size before any object has been committed: gzip-compressed logs
// inflate about nine times, and their rows take a little more in Arrow
// than as text.
const defaultExpansion = 12

// admission is what one admitted object may hold: its estimate until its
// rows take more.
type admission struct {
	est  int64
	used atomic.Int64 // the object's rows so far, added by its sink
}

func (a *admission) held() int64 { return max(a.est, a.used.Load()) }

var _ ingest.Admitter = (*Writer)(nil)

// Admit waits until the object ref fits in the writer's memory budget, or
// until ctx ends, and returns the function that gives its room back, to
// be called once the object is committed or abandoned.
func (w *Writer) Admit(ctx context.Context, ref ingest.ObjectRef) (func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	est := w.estimateLocked(ref)
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.admitCond.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	budget := admitFactor * w.o.BufferBytes
	for len(w.admitted) > 0 && w.heldLocked()+w.buf.bytes+est > budget {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		w.admitCond.Wait()
	}
	a := &admission{est: est}
	w.admitted[a] = ref.Source + ref.Key
	w.admitKeys[ref.Source+ref.Key] = a
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		key := w.admitted[a]
		delete(w.admitted, a)
		if w.admitKeys[key] == a {
			delete(w.admitKeys, key)
		}
		w.admitCond.Broadcast()
	}, nil
}

// estimateLocked guesses the memory of ref's rows from its stored size,
// at the ratio of the objects committed so far.
func (w *Writer) estimateLocked(ref ingest.ObjectRef) int64 {
	if ref.Size <= 0 {
		if w.seenObjects == 0 {
			return 0
		}
		return w.seenBytes / w.seenObjects
	}
	if w.seenSize == 0 {
		return ref.Size * defaultExpansion
	}
	return int64(float64(ref.Size) * float64(w.seenBytes) / float64(w.seenSize))
}

func (w *Writer) heldLocked() int64 {
	var n int64
	for a := range w.admitted {
		n += a.held()
	}
	return n
}
