package dataset

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/cflens/cflens/ingest/schema"
)

// An object's rows stay out of the dataset until the object is committed,
// so that a failed object leaves nothing behind. A large object would
// then be held whole in memory (an object of 3 M lines took 1.5 GiB), so
// once the rows of an object being read take Options.StageBytes, they are
// staged: written, as they arrive, to one temporary Parquet file per
// partition, with the dataset's properties and row groups. Abort deletes
// the staging files. A checkpoint commits a staging file by renaming it
// into place (copies it, for stores that are not local folders) when it is
// the whole of its partition's new file (into the staging folder of the
// distribution when the checkpoint replaces files there, swap.go, so that
// the exchange brings it in), and otherwise reads it back into the file
// it writes; either way within the checkpoint's journal transaction, so
// the order of steps and the recovery described at Writer are unchanged.
//
// Staging files of a local-folder dataset are hidden temporary files under
// _cflens/stage/ (named ".tmp-stage-*.tmp", which no "*.parquet" glob
// matches), which the next run's start deletes, under the lease, if a run
// dies; for other stores they go to Options.SpoolDir.

// stageDir is the folder of staging files under a local-folder dataset.
const stageDir = metaDir + "/stage"

// stagedPart is the staging file of one partition of an object.
type stagedPart struct {
	path string
	rows int64 // rows given to rg
	size int64 // the file's size, once finished

	// While the file is being written:
	f  *os.File
	bw *bufio.Writer
	cw *countingWriter
	fw *columnFile
	rg *rowGroups
}

// stagingFolder returns the folder for staging files of st, and whether
// they may be renamed into the dataset.
func stagingFolder(st Store, spoolDir string) (dir string, inPlace bool) {
	if d, ok := st.(*DirStore); ok {
		return filepath.Join(d.root, filepath.FromSlash(stageDir)), true
	}
	return spoolDir, false
}

// newStagedPart creates a staging file.
func (w *Writer) newStagedPart() (*stagedPart, error) {
	pattern := ".cflens-stage-*"
	if w.stageInPlace {
		if err := os.MkdirAll(w.stageDir, 0o755); err != nil {
			return nil, fmt.Errorf("create staging folder: %w", err)
		}
		pattern = tempPrefix + "stage-*.tmp"
	}
	f, err := os.CreateTemp(w.stageDir, pattern)
	if err != nil {
		return nil, fmt.Errorf("create staging file: %w", err)
	}
	sp := &stagedPart{path: f.Name(), f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	sp.cw = &countingWriter{w: sp.bw}
	sp.fw, err = newColumnFile(sp.cw, schema.Arrow(), w.props, w.arrowProps, w.fallbacks)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	sp.rg = &rowGroups{fw: sp.fw, mem: w.o.Allocator, rows: w.o.RowGroupRows}
	return sp, nil
}

// write adds the batches, which the caller keeps, to the staging file.
func (sp *stagedPart) write(bs []arrow.RecordBatch) error {
	for _, b := range bs {
		if err := sp.rg.write(b); err != nil {
			return err
		}
		sp.rows += b.NumRows()
	}
	return nil
}

// finish writes the rows still gathered and closes the file.
func (sp *stagedPart) finish() error {
	err := sp.rg.flush()
	if cerr := sp.fw.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = sp.bw.Flush()
	}
	if cerr := sp.f.Close(); err == nil {
		err = cerr
	}
	sp.f, sp.bw, sp.cw, sp.fw, sp.rg = nil, nil, nil, nil, nil
	if err != nil {
		return fmt.Errorf("write staging file: %w", err)
	}
	if fi, err := os.Stat(sp.path); err != nil {
		return fmt.Errorf("write staging file: %w", err)
	} else {
		sp.size = fi.Size()
	}
	return nil
}

// remove deletes the staging file (if a checkpoint has not renamed it).
func (sp *stagedPart) remove() {
	if sp.rg != nil {
		sp.rg.release()
		sp.fw.Close() // gives back the encoders' memory
		sp.f.Close()
		sp.f, sp.bw, sp.cw, sp.fw, sp.rg = nil, nil, nil, nil, nil
	}
	_ = os.Remove(sp.path) // gone already when a checkpoint renamed it
}

// stage moves the rows that the object holds in memory into its staging
// files. It then writes out the rows gathered for a row group in the
// partitions that gather most, until no more than a row group's worth is
// gathered in all of them (an object of one or two hours keeps full row
// groups). With final, it writes out everything and closes the files.
func (s *objectSink) stage(final bool) error {
	o := s.obj
	if o.staged == nil {
		o.staged = map[partKey]*stagedPart{}
	}
	keys := make([]partKey, 0, len(o.parts))
	for k := range o.parts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b partKey) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.hour, b.hour))
	})
	for _, k := range keys {
		sp := o.staged[k]
		if sp == nil {
			var err error
			if sp, err = s.w.newStagedPart(); err != nil {
				return fmt.Errorf("object %s: %w", o.ref.Key, err)
			}
			o.staged[k] = sp
		}
		bs := o.parts[k]
		err := sp.write(bs)
		for _, b := range bs {
			b.Release()
		}
		delete(o.parts, k)
		if err != nil {
			return fmt.Errorf("object %s: stage rows: %w", o.ref.Key, err)
		}
	}
	var gathered int64
	parts := make([]*stagedPart, 0, len(o.staged))
	for _, sp := range o.staged {
		gathered += sp.rg.n
		parts = append(parts, sp)
	}
	slices.SortFunc(parts, func(a, b *stagedPart) int { return cmp.Compare(b.rg.n, a.rg.n) })
	for _, sp := range parts {
		if !final && gathered <= s.w.o.RowGroupRows {
			break
		}
		gathered -= sp.rg.n
		if err := sp.rg.flush(); err != nil {
			return fmt.Errorf("object %s: stage rows: %w", o.ref.Key, err)
		}
	}
	if final {
		for _, sp := range parts {
			if err := sp.finish(); err != nil {
				return fmt.Errorf("object %s: %w", o.ref.Key, err)
			}
		}
	}
	// What the object holds now: the rows gathered for row groups, at
	// the object's average row size.
	held := int64(0)
	if o.rows > 0 {
		held = int64(float64(gathered) * float64(o.total) / float64(o.rows))
	}
	if s.adm != nil {
		s.adm.used.Add(held - o.bytes)
	}
	o.bytes = held
	return nil
}

// placer is implemented by file creators that write files in a local
// folder: place returns the path of key's file there.
type placer interface {
	place(key string) (string, error)
}

// adopt stores a finished staging file under key, through stage when set
// (the staging folder of a replace, swap.go), else the store: renamed into
// place when staging files are in the dataset's file system, copied
// otherwise. It returns the file's size.
func (w *Writer) adopt(ctx context.Context, key string, sp *stagedPart, stage FileCreator) (int64, error) {
	fc, _ := w.st.(FileCreator)
	if stage != nil {
		fc = stage
	}
	if pl, ok := fc.(placer); ok && w.stageInPlace {
		p, err := pl.place(key)
		if err != nil {
			return 0, err
		}
		if err := w.moveStaged(sp, p); err == nil {
			return sp.size, nil
		} else if !errors.Is(err, syscall.EXDEV) {
			return 0, fmt.Errorf("move staging file to %s: %w", key, err)
		}
		// Another file system: copied below.
	}
	f, err := os.Open(sp.path)
	if err != nil {
		return 0, fmt.Errorf("open staging file: %w", err)
	}
	defer f.Close()
	if fc != nil {
		pf, err := fc.Create(ctx, key)
		if err != nil {
			return 0, err
		}
		if _, err := io.Copy(pf, f); err != nil {
			pf.Abort()
			return 0, fmt.Errorf("copy staging file to %s: %w", key, err)
		}
		return sp.size, pf.Commit()
	}
	if err := w.st.Put(ctx, key, f, sp.size); err != nil {
		return 0, err
	}
	return sp.size, nil
}

// moveStaged renames a finished staging file to p, durably.
func (w *Writer) moveStaged(sp *stagedPart, p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Open(sp.path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Readers expect the permissions of ordinary data files.
		err = os.Chmod(sp.path, 0o644)
	}
	if err == nil {
		err = os.Rename(sp.path, p)
	}
	if err != nil {
		return err
	}
	syncDir(filepath.Dir(p))
	return nil
}

// copyStaged reads a finished staging file into rg.
func (w *Writer) copyStaged(ctx context.Context, rg *rowGroups, sp *stagedPart) error {
	f, err := os.Open(sp.path)
	if err != nil {
		return fmt.Errorf("open staging file: %w", err)
	}
	rd, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(w.o.Allocator)))
	if err != nil {
		f.Close()
		return fmt.Errorf("open staging file: %w", err)
	}
	defer func() { rd.Close(); f.Close() }()
	all := make([]int, schema.NumColumns)
	for i := range all {
		all[i] = i
	}
	var n int64
	err = fileBatches(ctx, rd, all, 64*1024, w.o.Allocator, func(b arrow.RecordBatch) error {
		n += b.NumRows()
		if err := rg.write(b); err != nil {
			return err
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("read staging file: %w", err)
	}
	if n != sp.rows {
		return fmt.Errorf("read staging file: %d rows, staged %d", n, sp.rows)
	}
	return nil
}
