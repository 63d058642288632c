package ingest

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Sink receives the parsed rows of objects. Rows of one object are
// delivered between Begin and Commit; an object whose read fails midway
// is aborted (its rows discarded) and may be begun again, so a sink that
// makes rows visible only on Commit never counts a row twice.
type Sink interface {
	Begin(ctx context.Context, ref ObjectRef) (ObjectSink, error)
	// Close flushes what was committed. It is called once, after the last
	// Commit or Abort.
	Close(ctx context.Context) error
}

// ObjectSink takes the batches of one object. Write must not retain the
// batch past the call unless it calls Retain.
type ObjectSink interface {
	Write(batch arrow.RecordBatch) error
	Commit() error
	Abort()
}

// Manifest is implemented by sinks that remember what they ingested, so a
// rerun skips objects already taken whole (same key, ETag and size). After
// Close, Has is true of exactly the objects the sink holds: the run counts
// an object in its summary only then, and names the others (committed but
// never written, say after a disk-full error) as failed.
type Manifest interface {
	Has(ref ObjectRef) bool
}

// Admitter is implemented by sinks that hold the rows of objects in
// memory until they are committed. The pipeline calls Admit before it
// opens an object, which waits until the sink has room for it, and calls
// the returned release once the object is committed or abandoned (after
// its last try).
type Admitter interface {
	Admit(ctx context.Context, ref ObjectRef) (release func(), err error)
}

// Projector is implemented by sinks that need only some columns; the
// parser then builds only those (schema column indexes).
type Projector interface {
	Columns() []int
}
