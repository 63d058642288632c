package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/sync/errgroup"

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
	// CompactRows: when a run ends, the files with fewer rows in each
	// partition that the run wrote to are merged into one, so that many
	// small runs (an hourly job) converge to few files. Checkpoints in
	// the middle of a run never rewrite files for this. 0 takes the
	// default; a negative value turns merging off.
	CompactRows int64
	// Parallel is the number of partition files encoded at once.
	Parallel int
	// SnapshotEvery: after this many journal records, Close writes one
	// snapshot record and deletes the older ones.
	SnapshotEvery int
	// SpoolDir holds temporary files for stores that cannot write in
	// place; empty means the system's temporary folder.
	SpoolDir  string
	Allocator memory.Allocator
	Logger    *slog.Logger
}

// DefaultOptions returns the options used by cflens ingest.
func DefaultOptions() Options {
	return Options{
		Compression:      CompressionZstd,
		CompressionLevel: 1,
		RowGroupRows:     128 * 1024,
		BufferBytes:      32 << 20,
		CompactRows:      32 * 1024,
		Parallel:         runtime.GOMAXPROCS(0),
		SnapshotEvery:    32,
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
	if o.Parallel <= 0 {
		o.Parallel = d.Parallel
	}
	if o.CompactRows == 0 {
		o.CompactRows = d.CompactRows
	}
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = d.SnapshotEvery
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
//     files it replaces), each atomically under its final name;
//  3. writes the commit record (the commit point);
//  4. deletes the replaced files and the pending record.
//
// A run killed before step 3 is rolled back when the dataset is next
// opened (the added files are deleted); one killed after it is rolled
// forward (the replaced files are deleted). File names derive from the
// source objects, so a rerun recreates the same names. Only one Writer may
// work on a dataset at a time.
type Writer struct {
	st         Store
	o          Options
	props      *parquet.WriterProperties
	arrowProps pqarrow.ArrowWriterProperties
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
	w := &Writer{
		st: st, o: o, props: props, arrowProps: arrowProps, ctx: ctx,
		state:   s,
		buf:     newBuffer(),
		flushes: make(chan *buffer),
		done:    make(chan struct{}),
		touched: map[string]bool{},
	}
	w.adm.init()
	go w.flusher()
	return w, nil
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
	if err := w.firstErr(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("close dataset: %w", err)
	}
	return w.maybeSnapshot(ctx)
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

// pendingObject holds the rows of one object, split by partition.
type pendingObject struct {
	ref   ingest.ObjectRef
	rows  int64
	bytes int64
	parts map[partKey][]arrow.RecordBatch
}

func (p *pendingObject) release() {
	for _, bs := range p.parts {
		for _, b := range bs {
			b.Release()
		}
	}
	p.parts = nil
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
	// Runs of rows of one hour become zero-copy slices. Records are not
	// time-ordered, so when hours interleave the rows of each hour are
	// gathered into one batch instead of many tiny slices.
	type run struct {
		hour       int64
		start, end int
	}
	var runs []run
	for i := 0; i < n; i++ {
		h := hourOfMillis(int64(vals[i]))
		if len(runs) > 0 && runs[len(runs)-1].hour == h {
			runs[len(runs)-1].end = i + 1
			continue
		}
		runs = append(runs, run{h, i, i + 1})
	}
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
	} else {
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
	}
	s.obj.rows += int64(n)
	nb := batchBytes(full)
	s.obj.bytes += nb
	if s.adm != nil {
		s.adm.used.Add(nb)
	}
	return nil
}

// Commit hands the object's rows to the writer. When the buffer is full
// it goes to the background writer; if that is still busy with the
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
	if w.buf.bytes < w.o.BufferBytes {
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

// job is the work of one partition in a checkpoint: the rows kept from
// the files it replaces, then the new objects' rows, into one file.
type job struct {
	part  Partition
	olds  []*FileEntry
	news  []newPart
	out   FileEntry
	drops []string // replaced files, except one rewritten under the same name
}

type newPart struct {
	obj     *pendingObject
	batches []arrow.RecordBatch
	rows    int64
}

func (w *Writer) checkpoint(ctx context.Context, b *buffer) error {
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	w.smu.RLock()
	seq := w.state.seq + 1
	replaced := map[string]bool{}
	for _, k := range keys {
		if _, ok := w.state.objects[k]; ok || len(w.state.byObject[k]) > 0 {
			replaced[k] = true
		}
	}
	jobs := map[string]*job{}
	get := func(p Partition) *job {
		j := jobs[p.Dir()]
		if j == nil {
			j = &job{part: p}
			jobs[p.Dir()] = j
		}
		return j
	}
	for _, k := range keys {
		obj := b.objects[k]
		pks := make([]partKey, 0, len(obj.parts))
		for pk := range obj.parts {
			pks = append(pks, pk)
		}
		for _, pk := range pks {
			bs := obj.parts[pk]
			var rows int64
			for _, x := range bs {
				rows += x.NumRows()
			}
			j := get(pk.partition())
			j.news = append(j.news, newPart{obj: obj, batches: bs, rows: rows})
		}
	}
	oldSet := map[string]bool{}
	addOld := func(f *FileEntry) {
		if oldSet[f.Key] {
			return
		}
		p, ok := ParsePartition(f.Key)
		if !ok {
			return
		}
		oldSet[f.Key] = true
		j := get(p)
		j.olds = append(j.olds, f)
	}
	for k := range replaced {
		for fk := range w.state.byObject[k] {
			addOld(w.state.files[fk])
		}
	}
	if b.final && w.o.CompactRows > 0 {
		small := map[string][]*FileEntry{}
		for _, f := range w.state.files {
			d := path.Dir(f.Key)
			if f.Rows < w.o.CompactRows && (w.touched[d] || jobs[d] != nil) {
				small[d] = append(small[d], f)
			}
		}
		for d, fs := range small {
			if len(fs) < 2 && jobs[d] == nil {
				continue // a lone small file would be rewritten as it is
			}
			for _, f := range fs {
				addOld(f)
			}
		}
	}
	w.smu.RUnlock()
	if len(jobs) == 0 && len(keys) == 0 {
		return nil
	}

	// Plan each job's output file.
	order := make([]string, 0, len(jobs))
	for d := range jobs {
		order = append(order, d)
	}
	sort.Strings(order)
	pend := pendingRecord{Seq: seq}
	for _, d := range order {
		j := jobs[d]
		sort.Slice(j.olds, func(a, c int) bool { return j.olds[a].Key < j.olds[c].Key })
		var objs []fileObject
		var rows int64
		for _, f := range j.olds {
			for _, o := range f.Objects {
				if !replaced[o.Key] {
					objs = append(objs, o)
					rows += o.Rows
				}
			}
		}
		for _, n := range j.news {
			objs = append(objs, fileObject{Key: n.obj.ref.Key, ETag: n.obj.ref.ETag, Rows: n.rows})
			rows += n.rows
		}
		if rows > 0 {
			j.out = FileEntry{Key: d + "/" + fileName(objs), Rows: rows, Objects: objs}
			pend.Added = append(pend.Added, j.out.Key)
		}
		for _, f := range j.olds {
			if f.Key != j.out.Key {
				j.drops = append(j.drops, f.Key)
				pend.Removed = append(pend.Removed, f.Key)
			}
		}
	}
	if err := putJSON(ctx, w.st, journalKey(seq, pendingSuffix), pend); err != nil {
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.o.Parallel)
	for _, d := range order {
		j := jobs[d]
		if j.out.Key == "" {
			continue
		}
		g.Go(func() error {
			n, err := w.writeFile(gctx, j, replaced)
			if err != nil {
				return fmt.Errorf("write %s: %w", j.out.Key, err)
			}
			j.out.Bytes = n
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		w.rollback(pend)
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}

	cp := &checkpoint{Seq: seq, Removed: pend.Removed}
	for _, k := range keys {
		o := b.objects[k]
		cp.Objects = append(cp.Objects, objectEntry{Key: k, ETag: o.ref.ETag, Size: o.ref.Size, Rows: o.rows})
	}
	for _, d := range order {
		if j := jobs[d]; j.out.Key != "" {
			cp.Added = append(cp.Added, j.out)
		}
	}
	if err := putJSON(ctx, w.st, journalKey(seq, commitSuffix), cp); err != nil {
		w.rollback(pend)
		return fmt.Errorf("checkpoint %d: commit: %w", seq, err)
	}
	w.smu.Lock()
	w.state.apply(cp)
	w.smu.Unlock()
	for _, d := range order {
		w.touched[d] = true
	}
	for _, k := range pend.Removed {
		if err := w.st.Delete(ctx, k); err != nil {
			return fmt.Errorf("checkpoint %d: delete replaced file: %w", seq, err)
		}
	}
	if err := w.st.Delete(ctx, journalKey(seq, pendingSuffix)); err != nil {
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	w.o.Logger.Debug("checkpoint", "seq", seq, "objects", len(keys), "added", len(cp.Added), "removed", len(cp.Removed))
	return nil
}

// rollback undoes a checkpoint that failed before its commit record, as
// far as it can; what it cannot undo is undone when the dataset is next
// opened.
func (w *Writer) rollback(p pendingRecord) {
	ctx := context.WithoutCancel(w.ctx)
	w.smu.RLock()
	var drop []string
	for _, k := range p.Added {
		if _, live := w.state.files[k]; !live {
			drop = append(drop, k)
		}
	}
	w.smu.RUnlock()
	for _, k := range drop {
		if err := w.st.Delete(ctx, k); err != nil {
			w.o.Logger.Warn("roll back checkpoint", "seq", p.Seq, "err", err)
			return
		}
	}
	if err := w.st.Delete(ctx, journalKey(p.Seq, pendingSuffix)); err != nil {
		w.o.Logger.Warn("roll back checkpoint", "seq", p.Seq, "err", err)
	}
}

// countingWriter counts bytes and hides Close from pqarrow, which would
// otherwise close the file before it is committed.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFile encodes a job's output file and stores it under its key.
func (w *Writer) writeFile(ctx context.Context, j *job, replaced map[string]bool) (int64, error) {
	var (
		dst    io.Writer
		commit func(size int64) error
		abort  func()
	)
	if fc, ok := w.st.(FileCreator); ok {
		pf, err := fc.Create(ctx, j.out.Key)
		if err != nil {
			return 0, err
		}
		dst, commit, abort = pf, func(int64) error { return pf.Commit() }, pf.Abort
	} else {
		f, err := os.CreateTemp(w.o.SpoolDir, ".cflens-write-*")
		if err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		cleanup := func() { f.Close(); os.Remove(f.Name()) }
		dst, abort = f, cleanup
		commit = func(size int64) error {
			defer cleanup()
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			return w.st.Put(ctx, j.out.Key, f, size)
		}
	}
	bw := bufio.NewWriterSize(dst, 1<<20)
	cw := &countingWriter{w: bw}
	fw, err := newColumnFile(cw, schema.Arrow(), w.props, w.arrowProps)
	if err != nil {
		abort()
		return 0, err
	}
	err = w.encode(ctx, fw, j, replaced)
	if cerr := fw.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		abort()
		return 0, err
	}
	if err := commit(cw.n); err != nil {
		return 0, err
	}
	return cw.n, nil
}

func (w *Writer) encode(ctx context.Context, fw *columnFile, j *job, replaced map[string]bool) error {
	all := make([]int, schema.NumColumns)
	for i := range all {
		all[i] = i
	}
	rg := &rowGroups{fw: fw, mem: w.o.Allocator, rows: w.o.RowGroupRows}
	defer rg.release()
	for _, old := range j.olds {
		// Row ranges to keep: objects are contiguous, in the listed order.
		type span struct{ from, to int64 }
		var keep []span
		var off int64
		for _, o := range old.Objects {
			if !replaced[o.Key] {
				if n := len(keep); n > 0 && keep[n-1].to == off {
					keep[n-1].to += o.Rows
				} else {
					keep = append(keep, span{off, off + o.Rows})
				}
			}
			off += o.Rows
		}
		if len(keep) == 0 {
			continue
		}
		rd, closeFile, err := openParquet(ctx, w.st, old.Key, w.o.SpoolDir, w.o.Allocator)
		if err != nil {
			return err
		}
		var pos int64
		err = fileBatches(ctx, rd, all, 64*1024, w.o.Allocator, func(b arrow.RecordBatch) error {
			lo, hi := pos, pos+b.NumRows()
			pos = hi
			for _, s := range keep {
				from, to := max(s.from, lo), min(s.to, hi)
				if from >= to {
					continue
				}
				piece := b.NewSlice(from-lo, to-lo)
				err := rg.write(piece)
				piece.Release()
				if err != nil {
					return err
				}
			}
			return ctx.Err()
		})
		closeFile()
		if err != nil {
			return fmt.Errorf("merge %s: %w", old.Key, err)
		}
		if pos != old.Rows {
			return fmt.Errorf("merge %s: file has %d rows, journal says %d", old.Key, pos, old.Rows)
		}
	}
	for _, n := range j.news {
		for _, b := range n.batches {
			if err := rg.write(b); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return rg.flush()
}

// rowGroups cuts the batches of a file into row groups of rows rows and
// gives every batch of a row group the same dictionaries. pqarrow keeps a
// column chunk dictionary-encoded only while each batch brings the
// dictionary of the first: at the first other one it falls back to plain
// pages for the rest of the chunk, which readers then hash value by
// value. Batches with their own dictionaries (one per parsed object) are
// therefore re-indexed against the union of the row group's
// dictionaries, which costs an index array per dictionary column and
// copies no strings.
type rowGroups struct {
	fw      *columnFile
	mem     memory.Allocator
	rows    int64
	pending []arrow.RecordBatch
	n       int64 // rows in pending
}

// write adds b (which the caller keeps) to the row group being gathered,
// writing the row group out whenever it is full.
func (g *rowGroups) write(b arrow.RecordBatch) error {
	for off := int64(0); off < b.NumRows(); {
		k := min(b.NumRows()-off, g.rows-g.n)
		if off == 0 && k == b.NumRows() {
			b.Retain()
			g.pending = append(g.pending, b)
		} else {
			g.pending = append(g.pending, b.NewSlice(off, off+k))
		}
		g.n += k
		off += k
		if g.n == g.rows {
			if err := g.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the gathered batches as one row group. Small batches are
// joined first: the Parquet writer has a fixed cost per column per call
// (it clears pooled level buffers of the largest size seen).
func (g *rowGroups) flush() error {
	defer g.release()
	if len(g.pending) == 0 {
		return nil
	}
	var parts []arrow.RecordBatch
	defer func() {
		for _, b := range parts {
			b.Release()
		}
	}()
	for i := 0; i < len(g.pending); {
		j, rows := i, int64(0)
		for j < len(g.pending) && (j == i || rows+g.pending[j].NumRows() <= joinRows) {
			rows += g.pending[j].NumRows()
			j++
		}
		if j-i == 1 {
			g.pending[i].Retain()
			parts = append(parts, g.pending[i])
		} else {
			b, err := concatBatches(g.mem, g.pending[i:j])
			if err != nil {
				return err
			}
			parts = append(parts, b)
		}
		i = j
	}
	if len(parts) > 1 {
		if err := unifyDicts(g.mem, parts); err != nil {
			return err
		}
	}
	return g.fw.writeRowGroup(parts)
}

func (g *rowGroups) release() {
	for _, b := range g.pending {
		b.Release()
	}
	g.pending, g.n = g.pending[:0], 0
}

// unifyDicts replaces, in place, each dictionary column of the batches
// by one whose chunks share one dictionary.
func unifyDicts(mem memory.Allocator, bs []arrow.RecordBatch) error {
	sc := bs[0].Schema()
	cols := make([][]arrow.Array, len(bs))
	for k, b := range bs {
		cols[k] = slices.Clone(b.Columns())
		for _, c := range cols[k] {
			c.Retain()
		}
	}
	defer func() {
		for _, cs := range cols {
			for _, c := range cs {
				c.Release()
			}
		}
	}()
	chunks := make([]arrow.Array, len(bs))
	for i, f := range sc.Fields() {
		if f.Type.ID() != arrow.DICTIONARY {
			continue
		}
		for k := range bs {
			chunks[k] = cols[k][i]
		}
		in := arrow.NewChunked(f.Type, chunks)
		out, err := array.UnifyChunkedDicts(mem, in)
		in.Release()
		if err != nil {
			return fmt.Errorf("unify dictionaries of %s: %w", f.Name, err)
		}
		for k, c := range out.Chunks() {
			c.Retain()
			cols[k][i].Release()
			cols[k][i] = c
		}
		out.Release()
	}
	for k, b := range bs {
		bs[k] = array.NewRecordBatch(sc, cols[k], b.NumRows())
		b.Release()
	}
	return nil
}

// joinRows is the size up to which consecutive small batches are joined.
const joinRows = 32 * 1024

// concatBatches joins batches of one schema into one.
func concatBatches(mem memory.Allocator, bs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	sc := bs[0].Schema()
	cols := make([]arrow.Array, sc.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(bs))
	var n int64
	for _, b := range bs {
		n += b.NumRows()
	}
	for i := range cols {
		for k, b := range bs {
			parts[k] = b.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("join column %s: %w", sc.Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(sc, cols, n), nil
}
