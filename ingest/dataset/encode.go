package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/schema"
)

// countingWriter counts bytes and hides Close from pqarrow, which would
// otherwise close the file before it is committed.
type countingWriter struct {
	w io.Writer
	n int64
	// discard, while set, drops what is written (a footer that a merge
	// replaces, rowcopy.go).
	discard bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.discard {
		return len(p), nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFile encodes a job's output file and stores it under its key.
func (w *Writer) writeFile(ctx context.Context, j *job, replaced map[string]bool) (int64, error) {
	dst, commit, abort, err := w.createFile(ctx, j.out.Key, j.stage)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(dst, 1<<20)
	cw := &countingWriter{w: bw}
	fw, err := newColumnFile(cw, schema.Arrow(), w.props, w.arrowProps, w.fallbacks)
	if err != nil {
		abort()
		return 0, err
	}
	srcs, err := w.openCopies(ctx, fw, j)
	if err != nil {
		abort()
		return 0, err
	}
	defer func() {
		for _, s := range srcs {
			s.close()
		}
	}()
	if len(srcs) > 0 {
		err = w.encode(ctx, fw, j.olds[j.copies:], j.news[j.stagedCopies:], replaced)
	} else {
		// Nothing copied: every row encoded, in the planned order.
		err = w.encode(ctx, fw, j.olds[:j.copies], j.news[:j.stagedCopies], replaced)
		if err == nil {
			err = w.encode(ctx, fw, j.olds[j.copies:], j.news[j.stagedCopies:], replaced)
		}
	}
	if cerr := fw.finishWithCopies(cw, srcs); err == nil {
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

// createFile opens a new data file under key: in place when the store
// can (FileCreator), else in a spool file that commit puts. commit takes
// the file's size; abort discards the file.
func (w *Writer) createFile(ctx context.Context, key string, stage FileCreator) (dst io.Writer, commit func(size int64) error, abort func(), err error) {
	fc, ok := w.st.(FileCreator)
	if stage != nil {
		fc, ok = stage, true // a staging folder (swap.go)
	}
	if ok {
		pf, err := fc.Create(ctx, key)
		if err != nil {
			return nil, nil, nil, err
		}
		return pf, func(int64) error { return pf.Commit() }, pf.Abort, nil
	}
	f, err := os.CreateTemp(w.o.SpoolDir, ".cflens-write-*")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("spool: %w", err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	commit = func(size int64) error {
		defer cleanup()
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return w.st.Put(ctx, key, f, size)
	}
	return f, commit, cleanup, nil
}

// openCopies opens the files whose row groups the job copies: its first
// j.copies olds and its first j.stagedCopies staging files, all or none.
// When one of them cannot be copied, they are all encoded again instead,
// which keeps the rows in the planned order.
func (w *Writer) openCopies(ctx context.Context, fw *columnFile, j *job) ([]*rowSource, error) {
	if j.copies == 0 && j.stagedCopies == 0 {
		return nil, nil
	}
	want, err := fw.wr.FileMetadata()
	if err != nil {
		return nil, err
	}
	srcs := make([]*rowSource, 0, j.copies+j.stagedCopies)
	fail := func(err error) ([]*rowSource, error) {
		for _, s := range srcs {
			s.close()
		}
		if errors.Is(err, errNotCopyable) {
			w.o.Logger.Debug("merge re-encodes", "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("merge %w", err)
	}
	for _, old := range j.olds[:j.copies] {
		f, cleanup, err := openLocal(ctx, w.st, old.Key, w.o.SpoolDir)
		if err != nil {
			return fail(err)
		}
		s, err := openRowSource(f, cleanup, old.Key, old.Rows, w.props, want)
		if err != nil {
			return fail(err)
		}
		srcs = append(srcs, s)
	}
	for _, n := range j.news[:j.stagedCopies] {
		f, err := os.Open(n.staged.path)
		if err != nil {
			return fail(fmt.Errorf("open staging file: %w", err))
		}
		s, err := openRowSource(f, func() { f.Close() }, "staging file of "+n.obj.ref.Key, n.staged.rows, w.props, want)
		if err != nil {
			return fail(err)
		}
		srcs = append(srcs, s)
	}
	return srcs, nil
}

// encode writes the rows kept from olds, the files a job replaces, in
// order, then the new objects'.
func (w *Writer) encode(ctx context.Context, fw *columnFile, olds []*FileEntry, news []newPart, replaced map[string]bool) error {
	rg := &rowGroups{fw: fw, mem: w.o.Allocator, rows: w.o.RowGroupRows}
	defer rg.release()
	for _, old := range olds {
		if err := w.copyKept(ctx, rg, old, keptSpans(old, replaced)); err != nil {
			return err
		}
	}
	for _, n := range news {
		if n.staged != nil {
			if err := w.copyStaged(ctx, rg, n.staged); err != nil {
				return err
			}
		}
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

// span is a range of rows of a file, from ≤ row < to.
type span struct{ from, to int64 }

// keptSpans returns the row ranges of old to keep: those of the objects
// not replaced. An object's rows are contiguous, in the listed order.
func keptSpans(old *FileEntry, replaced map[string]bool) []span {
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
	return keep
}

// copyKept reads the rows of old in keep into rg.
func (w *Writer) copyKept(ctx context.Context, rg *rowGroups, old *FileEntry, keep []span) error {
	if len(keep) == 0 {
		return nil
	}
	all := make([]int, schema.NumColumns)
	for i := range all {
		all[i] = i
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
	return nil
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
