package dataset

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/cflens/cflens/ingest"
)

// The rows of an object stay in memory until the object is committed (a
// failed object then leaves nothing in the dataset), or, once they take
// Options.StageBytes, in staging files (stage.go); committed rows stay
// until a checkpoint has written them. Admit keeps the two within a
// budget: an object is opened only when the objects being read, at what
// their rows take so far or at an estimate of what they will take, and
// the rows not yet written (those filling a buffer and those a checkpoint
// is writing) leave room for it. Without it, eight workers on two cores
// held so many rows that the garbage collector ran all the time under the
// memory limit, and ingest took twice as long; and two large objects were
// held at once.
//
// One object is admitted when no other is being read, however large, once
// no more than a buffer's worth of rows waits to be written, so that a run
// never waits for itself.

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

// admissions is Admit's state. Its lock is taken after Writer.mu, never
// before it.
type admissions struct {
	mu       sync.Mutex
	cond     *sync.Cond
	admitted map[*admission]string // → source and key
	keys     map[string]*admission
	// buffered is the memory of committed rows not yet written.
	buffered int64
	// The stored size, rows' memory and count of the objects committed.
	seenSize, seenBytes, seenObjects int64
}

func (a *admissions) init() {
	a.cond = sync.NewCond(&a.mu)
	a.admitted = map[*admission]string{}
	a.keys = map[string]*admission{}
}

// lookup returns the admission of the object key, or nil.
func (a *admissions) lookup(key string) *admission {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.keys[key]
}

// committed counts an object's rows into the buffered ones, replacing
// those of an earlier commit of the same object (replaced bytes).
func (a *admissions) committed(o *pendingObject, replaced int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buffered += o.bytes - replaced
	a.seenSize += o.ref.Size
	a.seenBytes += o.total
	a.seenObjects++
}

// written takes n bytes of rows out of the buffered ones: written by a
// checkpoint, or dropped.
func (a *admissions) written(n int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buffered -= n
	a.cond.Broadcast()
}

var _ ingest.Admitter = (*Writer)(nil)

// Admit waits until the object ref fits in the writer's memory budget, or
// until ctx ends, and returns the function that gives its room back, to
// be called once the object is committed or abandoned.
func (w *Writer) Admit(ctx context.Context, ref ingest.ObjectRef) (func(), error) {
	a := &w.adm
	a.mu.Lock()
	defer a.mu.Unlock()
	est := a.estimateLocked(ref)
	if w.o.StageBytes > 0 {
		// A large object is staged: it holds its unstaged rows and at
		// most a row group's worth gathered for each staging file.
		est = min(est, admitFactor*w.o.StageBytes)
	}
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	budget := admitFactor * w.o.BufferBytes
	for a.mustWaitLocked(est, budget, w.o.BufferBytes) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a.cond.Wait()
	}
	key := ref.Source + ref.Key
	adm := &admission{est: est}
	a.admitted[adm] = key
	a.keys[key] = adm
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.admitted, adm)
		if a.keys[key] == adm {
			delete(a.keys, key)
		}
		a.cond.Broadcast()
	}, nil
}

// estimateLocked guesses the memory of ref's rows from its stored size,
// at the ratio of the objects committed so far.
func (a *admissions) estimateLocked(ref ingest.ObjectRef) int64 {
	if ref.Size <= 0 {
		if a.seenObjects == 0 {
			return 0
		}
		return a.seenBytes / a.seenObjects
	}
	if a.seenSize == 0 {
		return ref.Size * defaultExpansion
	}
	return int64(float64(ref.Size) * float64(a.seenBytes) / float64(a.seenSize))
}

// mustWaitLocked reports whether an object estimated at est must wait.
// With other objects being read, it waits until they and the buffered
// rows leave room for it. With none, it waits only while more than a
// buffer's worth of rows is being written (an earlier object larger than
// a buffer), so that two such objects are not held at once; a checkpoint
// always ends, so this never waits for long.
func (a *admissions) mustWaitLocked(est, budget, bufferBytes int64) bool {
	if len(a.admitted) == 0 {
		return a.buffered > bufferBytes
	}
	return a.heldLocked()+a.buffered+est > budget
}

func (a *admissions) heldLocked() int64 {
	var n int64
	for adm := range a.admitted {
		n += adm.held()
	}
	return n
}
