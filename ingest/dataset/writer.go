package dataset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

// Options configure a Writer.
type Options struct {
	// Compression is CompressionZstd (default) or CompressionSnappy.
	Compression string
	// CompressionLevel is the zstd level; 0 takes the codec's default.
	// Level 1 (the default here) costs a third less time than zstd's
	// default level and made no larger files on generated logs.
	CompressionLevel int
	// RowGroupRows is the number of rows per Parquet row group.
	RowGroupRows int64
	// PageBytes is the target size of a data page before compression;
	// 0 takes Parquet's default of 1 MiB.
	PageBytes int64
	// BufferBytes bounds the Arrow memory of committed rows held before a
	// checkpoint writes them out. At most two buffers exist at once: one
	// filling, one being written.
	BufferBytes int64
	// StageBytes: once the rows of an object being read take this much
	// Arrow memory, they are staged in temporary Parquet files as they
	// arrive instead of held until the object is committed (see stage.go).
	// 0 takes BufferBytes; a negative value holds every object whole.
	StageBytes int64
	// CompactRows: when a run ends, the files with fewer rows in each
	// partition that the run wrote to are merged into one, so that many
	// small runs (an hourly job) converge to few files. Checkpoints in
	// the middle of a run never rewrite files for this. 0 takes the
	// default; a negative value turns merging off.
	CompactRows int64
	// CopyRows: a file kept whole by a merge that has at least this many
	// rows has its row groups copied byte for byte instead of decoded and
	// encoded again (rowcopy.go). 0 takes the default; a negative value
	// re-encodes every file.
	CopyRows int64
	// Parallel is the number of partition files encoded at once.
	Parallel int
	// SnapshotEvery: after this many journal records, Close writes one
	// snapshot record and deletes the older ones.
	SnapshotEvery int
	// LeaseTTL is how long the run's hold on the dataset lasts without
	// renewal; the Writer renews it every third of that. A killed run's
	// lease can be taken over once it has expired.
	LeaseTTL time.Duration
	// Now is the clock of the lease; nil means time.Now.
	Now func() time.Time
	// SpoolDir holds temporary files for stores that cannot write in
	// place; empty means the system's temporary folder.
	SpoolDir  string
	Allocator memory.Allocator
	Logger    *slog.Logger

	// stepHook, set by tests, is called at the end of each step of a
	// checkpoint (applyCheckpoint).
	stepHook func(step string)
}

// DefaultOptions returns the options used by cflens ingest.
func DefaultOptions() Options {
	return Options{
		Compression:      CompressionZstd,
		CompressionLevel: 1,
		RowGroupRows:     128 * 1024,
		BufferBytes:      32 << 20,
		CompactRows:      32 * 1024,
		CopyRows:         8 * 1024,
		Parallel:         runtime.GOMAXPROCS(0),
		SnapshotEvery:    32,
		LeaseTTL:         time.Minute,
	}
}

func (o *Options) fill() {
	d := DefaultOptions()
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = d.RowGroupRows
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = d.BufferBytes
	}
	if o.StageBytes == 0 {
		o.StageBytes = o.BufferBytes
	}
	if o.Parallel <= 0 {
		o.Parallel = d.Parallel
	}
	if o.CompactRows == 0 {
		o.CompactRows = d.CompactRows
	}
	if o.CopyRows == 0 {
		o.CopyRows = d.CopyRows
	}
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = d.SnapshotEvery
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = d.LeaseTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Writer writes committed objects into the dataset. It is an ingest.Sink
// and an ingest.Manifest; Begin and Commit may be called concurrently.
//
// A checkpoint takes the buffered objects and, in this order:
//  1. writes a pending record naming the files it will add and remove;
//  2. writes each partition's new file (merging in the rows kept from the
//     files it replaces), each atomically under its final name, or, on a
//     local folder where it replaces files, into a staging copy of the
//     distribution folder that it then exchanges with the live one in
//     one step (swap.go);
//  3. writes the commit record (the commit point);
//  4. deletes the replaced files, the staging folders and the pending
//     record.
//
// A run killed before step 3 is rolled back when the dataset is next
// opened (the added files are deleted); one killed after it is rolled
// forward (the replaced files are deleted). File names derive from the
// source objects, so a rerun recreates the same names.
//
// One Writer works on a dataset at a time: NewWriter takes the dataset's
// lease (lock.go) and fails with a *BusyError (wrapping ErrBusy) naming
// the holder while another run holds it; a checkpoint writes its commit
// record only while the lease is held; Close releases it.
type Writer struct {
	st         Store
	lease      *lease
	o          Options
	props      *parquet.WriterProperties
	arrowProps pqarrow.ArrowWriterProperties
	fallbacks  *dictFallbacks // the run's, shared by every file it writes
	ctx        context.Context

	smu   sync.RWMutex
	state *state

	mu      sync.Mutex // guards buf and closed
	buf     *buffer
	closed  bool
	flushes chan *buffer
	done    chan struct{}

	adm admissions // see Admit

	emu sync.Mutex
	err error // the first checkpoint error; later commits fail with it

	// touched holds the partition folders written in this run; only the
	// flusher goroutine uses it.
	touched map[string]bool

	// stageDir holds the staging files of large objects; stageInPlace
	// says that they are in the dataset's folder and can be renamed into
	// place.
	stageDir     string
	stageInPlace bool
}

var (
	_ ingest.Sink     = (*Writer)(nil)
	_ ingest.Manifest = (*Writer)(nil)
)

// NewWriter opens the dataset in st: it replays the journal, finishes or
// undoes what an interrupted run left, and starts the background writer,
// which runs until Close (or until ctx is cancelled).
func NewWriter(ctx context.Context, st Store, o Options) (*Writer, error) {
	o.fill()
	props, arrowProps, err := writerProperties(o, o.Allocator)
	if err != nil {
		return nil, err
	}
	l, err := acquireLease(ctx, st, o.LeaseTTL, o.Now, o.Logger)
	if err != nil {
		return nil, err
	}
	s, err := openForWrite(ctx, st)
	if err != nil {
		if rerr := l.release(context.WithoutCancel(ctx)); rerr != nil {
			o.Logger.Warn("release dataset lease", "err", rerr)
		}
		return nil, err
	}
	w := &Writer{
		st: st, lease: l, o: o, props: props, arrowProps: arrowProps, ctx: ctx,
		fallbacks: newRunFallbacks(),
		state:     s,
		buf:       newBuffer(),
		flushes:   make(chan *buffer),
		done:      make(chan struct{}),
		touched:   map[string]bool{},
	}
	w.stageDir, w.stageInPlace = stagingFolder(st, o.SpoolDir)
	w.adm.init()
	go w.flusher()
	return w, nil
}

// openForWrite removes what an interrupted run left (temporary files,
// pending checkpoints) and returns the replayed journal. Only the lease
// holder may call it.
func openForWrite(ctx context.Context, st Store) (*state, error) {
	if rt, ok := st.(interface{ RemoveTemp(context.Context) error }); ok {
		if err := rt.RemoveTemp(ctx); err != nil {
			return nil, fmt.Errorf("remove temporary files: %w", err)
		}
	}
	s, j, err := loadState(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := recoverPending(ctx, st, s, j); err != nil {
		return nil, err
	}
	return s, nil
}

// Has reports whether ref was taken whole with the same ETag and size.
func (w *Writer) Has(ref ingest.ObjectRef) bool {
	w.smu.RLock()
	defer w.smu.RUnlock()
	o, ok := w.state.objects[ref.Key]
	return ok && o.ETag == ref.ETag && o.Size == ref.Size
}

// Files returns the dataset's live data files, in key order.
func (w *Writer) Files() []FileEntry {
	w.smu.RLock()
	defer w.smu.RUnlock()
	return w.state.sortedFiles()
}

func (w *Writer) setErr(err error) {
	w.emu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.emu.Unlock()
}

func (w *Writer) firstErr() error {
	w.emu.Lock()
	defer w.emu.Unlock()
	return w.err
}

func (w *Writer) flusher() {
	defer close(w.done)
	for b := range w.flushes {
		if w.firstErr() == nil {
			if err := w.checkpoint(w.ctx, b); err != nil {
				w.setErr(err)
			}
		}
		b.release()
		w.adm.written(b.bytes)
	}
}

// Begin starts an object.
func (w *Writer) Begin(ctx context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	if err := w.firstErr(); err != nil {
		return nil, err
	}
	adm := w.adm.lookup(ref.Source + ref.Key)
	return &objectSink{w: w, ctx: ctx, adm: adm, obj: &pendingObject{ref: ref, parts: map[partKey][]arrow.RecordBatch{}}}, nil
}

// Close writes what was committed and waits for it.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.firstErr()
	}
	w.closed = true
	b := w.buf
	b.final = true
	w.buf = newBuffer()
	w.mu.Unlock()
	select {
	case w.flushes <- b:
	case <-ctx.Done():
		b.release()
		w.adm.written(b.bytes)
	}
	close(w.flushes)
	<-w.done
	err := w.firstErr()
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("close dataset: %w", ctx.Err())
	}
	if err == nil {
		err = w.maybeSnapshot(ctx)
	}
	if rerr := w.lease.release(context.WithoutCancel(ctx)); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// maybeSnapshot folds a long journal into one snapshot record.
func (w *Writer) maybeSnapshot(ctx context.Context) error {
	w.smu.RLock()
	n, seq := w.state.commits, w.state.seq
	var cp *checkpoint
	if n > w.o.SnapshotEvery {
		cp = w.state.snapshot(seq + 1)
	}
	w.smu.RUnlock()
	if cp == nil {
		return nil
	}
	if err := putJSON(ctx, w.st, journalKey(cp.Seq, snapshotSuffix), cp); err != nil {
		return fmt.Errorf("write journal snapshot: %w", err)
	}
	w.smu.Lock()
	w.state.seq, w.state.commits = cp.Seq, 1
	w.smu.Unlock()
	j, err := listJournal(ctx, w.st)
	if err != nil {
		return err
	}
	for _, s := range j.commits {
		if s >= cp.Seq {
			continue
		}
		suffix := commitSuffix
		if j.snapshot[s] {
			suffix = snapshotSuffix
		}
		if err := w.st.Delete(ctx, journalKey(s, suffix)); err != nil {
			return fmt.Errorf("prune journal: %w", err)
		}
	}
	return nil
}

// partKey identifies a partition in memory.
type partKey struct {
	dist string
	hour int64 // hours since the epoch
}

func (k partKey) partition() Partition {
	return Partition{DistributionID: k.dist, Hour: timeOfHour(k.hour)}
}

// pendingObject holds the rows of one object, split by partition: in
// memory, or in staging files once they took Options.StageBytes. When the
// object is committed its rows are all in one or the other.
type pendingObject struct {
	ref  ingest.ObjectRef
	rows int64
	// bytes is the memory the object holds; total is the memory its rows
	// took in all.
	bytes, total int64
	parts        map[partKey][]arrow.RecordBatch
	staged       map[partKey]*stagedPart
}

func (p *pendingObject) release() {
	for _, bs := range p.parts {
		for _, b := range bs {
			b.Release()
		}
	}
	p.parts = nil
	for _, sp := range p.staged {
		sp.remove()
	}
	p.staged = nil
}

type buffer struct {
	objects map[string]*pendingObject
	bytes   int64
	// final marks the last buffer of a run, whose checkpoint also merges
	// small files.
	final bool
}

func newBuffer() *buffer { return &buffer{objects: map[string]*pendingObject{}} }

func (b *buffer) release() {
	for _, o := range b.objects {
		o.release()
	}
	b.objects = nil
}

type objectSink struct {
	w    *Writer
	ctx  context.Context
	adm  *admission // nil when the object was not admitted
	obj  *pendingObject
	done bool
}

// Write splits the batch by the hour of its timestamps and keeps the
// pieces (zero-copy slices) until the object is committed.
func (s *objectSink) Write(batch arrow.RecordBatch) error {
	if s.done {
		return errors.New("write after commit or abort")
	}
	if batch.NumRows() == 0 {
		return nil
	}
	full, err := conform(batch, s.w.o.Allocator)
	if err != nil {
		return fmt.Errorf("object %s: %w", s.obj.ref.Key, err)
	}
	defer full.Release()
	dist := s.obj.ref.DistributionID
	if dist == "" {
		dist = firstString(full.Column(schema.DistributionID))
	}
	ts, ok := full.Column(schema.Timestamp_).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("object %s: timestamp column is %s", s.obj.ref.Key, full.Column(schema.Timestamp_).DataType())
	}
	vals := ts.TimestampValues()
	n := int(full.NumRows())
	if ts.NullN() > 0 {
		for i := 0; i < n; i++ {
			if ts.IsNull(i) {
				return fmt.Errorf("object %s: row %d has no timestamp", s.obj.ref.Key, i)
			}
		}
	}
	if err := s.keepByHour(full, dist, hourRuns(vals)); err != nil {
		return err
	}
	s.obj.rows += int64(n)
	nb := batchBytes(full)
	s.obj.bytes += nb
	s.obj.total += nb
	if s.adm != nil {
		s.adm.used.Add(nb)
	}
	if s.w.o.StageBytes > 0 && s.obj.bytes >= s.w.o.StageBytes {
		return s.stage(false)
	}
	return nil
}

// hourRun is a run of consecutive rows of one hour.
type hourRun struct {
	hour       int64 // hours since the epoch
	start, end int
}

// hourRuns cuts timestamps (milliseconds) into runs of one hour.
func hourRuns(vals []arrow.Timestamp) []hourRun {
	var runs []hourRun
	for i := range vals {
		h := hourOfMillis(int64(vals[i]))
		if len(runs) > 0 && runs[len(runs)-1].hour == h {
			runs[len(runs)-1].end = i + 1
			continue
		}
		runs = append(runs, hourRun{h, i, i + 1})
	}
	return runs
}

// keepByHour adds the rows of full to the object's partitions. Runs of
// rows of one hour become zero-copy slices. Records are not time-ordered,
// so when hours interleave the rows of each hour are gathered into one
// batch instead of many tiny slices.
func (s *objectSink) keepByHour(full arrow.RecordBatch, dist string, runs []hourRun) error {
	n := int(full.NumRows())
	if len(runs) <= maxSlices {
		for _, r := range runs {
			k := partKey{dist: dist, hour: r.hour}
			var piece arrow.RecordBatch
			if r.start == 0 && r.end == n {
				full.Retain()
				piece = full
			} else {
				piece = full.NewSlice(int64(r.start), int64(r.end))
			}
			s.obj.parts[k] = append(s.obj.parts[k], piece)
		}
		return nil
	}
	idx := map[int64][]int32{}
	var hours []int64
	for _, r := range runs {
		if _, ok := idx[r.hour]; !ok {
			hours = append(hours, r.hour)
		}
		for i := r.start; i < r.end; i++ {
			idx[r.hour] = append(idx[r.hour], int32(i))
		}
	}
	for _, h := range hours {
		piece, err := take(s.w.o.Allocator, full, idx[h])
		if err != nil {
			return fmt.Errorf("object %s: split by hour: %w", s.obj.ref.Key, err)
		}
		k := partKey{dist: dist, hour: h}
		s.obj.parts[k] = append(s.obj.parts[k], piece)
	}
	return nil
}

// Commit hands the object's rows to the writer. When the buffer is full,
// or the object was staged, it goes to the background writer; if that is still busy with the
// previous buffer, Commit waits (backpressure).
func (s *objectSink) Commit() error {
	if s.done {
		return errors.New("commit after commit or abort")
	}
	s.done = true
	w := s.w
	if err := w.firstErr(); err != nil {
		s.obj.release()
		return err
	}
	if s.obj.staged != nil {
		if err := s.stage(true); err != nil {
			s.obj.release()
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		s.obj.release()
		return errors.New("commit after close")
	}
	var replaced int64
	if old := w.buf.objects[s.obj.ref.Key]; old != nil {
		w.buf.bytes -= old.bytes
		replaced = old.bytes
		old.release()
	}
	w.buf.objects[s.obj.ref.Key] = s.obj
	w.buf.bytes += s.obj.bytes
	w.adm.committed(s.obj, replaced)
	// A staged object ends the buffer too: its staging files are then
	// committed without waiting for other objects to fill a buffer.
	if w.buf.bytes < w.o.BufferBytes && s.obj.staged == nil {
		return nil
	}
	b := w.buf
	w.buf = newBuffer()
	select {
	case w.flushes <- b:
	case <-s.ctx.Done():
		// The other objects in b were committed and counted: keep them
		// for Close to write, and give back only this one.
		delete(b.objects, s.obj.ref.Key)
		b.bytes -= s.obj.bytes
		s.obj.release()
		w.adm.written(s.obj.bytes)
		w.buf = b
		return s.ctx.Err()
	case <-w.ctx.Done():
		b.release()
		w.adm.written(b.bytes)
		return w.ctx.Err()
	}
	return w.firstErr()
}

// Abort discards the object's rows.
func (s *objectSink) Abort() {
	if s.done {
		return
	}
	s.done = true
	s.obj.release()
}

// maxSlices is the number of hour runs in a batch up to which the batch is
// kept as slices rather than gathered.
const maxSlices = 4

// take gathers the rows at idx into a new batch.
func take(mem memory.Allocator, b arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	ib.AppendValues(idx, nil)
	ia := ib.NewArray()
	defer ia.Release()
	ctx := compute.WithAllocator(context.Background(), mem)
	cols := make([]arrow.Array, b.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range b.Columns() {
		t, err := compute.TakeArrayOpts(ctx, c, ia, compute.TakeOptions{BoundsCheck: false})
		if err != nil {
			return nil, err
		}
		cols[i] = t
	}
	return array.NewRecordBatch(b.Schema(), cols, int64(len(idx))), nil
}

// conform returns the batch with the full schema: columns found by name,
// missing ones filled with nulls. The result must be released.
func conform(b arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	full := schema.Arrow()
	if b.Schema().Equal(full) {
		b.Retain()
		return b, nil
	}
	cols := make([]arrow.Array, full.NumFields())
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for i, f := range full.Fields() {
		idx := b.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			a := nullArray(mem, f.Type, int(b.NumRows()))
			made = append(made, a)
			cols[i] = a
			continue
		}
		c := b.Column(idx[0])
		if !arrow.TypeEqual(c.DataType(), f.Type) {
			return nil, fmt.Errorf("column %s has type %s, want %s", f.Name, c.DataType(), f.Type)
		}
		cols[i] = c
	}
	return newBatch(full, cols, b.NumRows()), nil
}

func nullArray(mem memory.Allocator, dt arrow.DataType, n int) arrow.Array {
	return array.MakeArrayOfNull(mem, dt, n)
}

func newBatch(s *arrow.Schema, cols []arrow.Array, n int64) arrow.RecordBatch {
	return array.NewRecordBatch(s, cols, n)
}

func firstString(a arrow.Array) string {
	if a.Len() == 0 || a.IsNull(0) {
		return ""
	}
	return a.ValueStr(0)
}

// batchBytes is the memory held by a batch's buffers (their capacity:
// builders over-allocate).
func batchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, buf := range d.Buffers() {
		if buf != nil {
			n += int64(buf.Cap())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		n += dataBytes(dict)
	}
	return n
}
