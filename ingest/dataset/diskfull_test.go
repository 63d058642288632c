package dataset_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/schema"
)

// fullStore is a folder store that fails every write once limit bytes
// have been written through it (data files and journal records), with
// ENOSPC, as a full disk does. A negative limit never fails; written
// counts the bytes either way.
type fullStore struct {
	*dataset.DirStore
	mu      sync.Mutex
	limit   int64
	written int64
}

func (s *fullStore) take(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit >= 0 && s.written+int64(n) > s.limit {
		return fmt.Errorf("write: %w", syscall.ENOSPC)
	}
	s.written += int64(n)
	return nil
}

func (s *fullStore) Create(ctx context.Context, key string) (dataset.PendingFile, error) {
	pf, err := s.DirStore.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return &fullFile{PendingFile: pf, s: s}, nil
}

func (s *fullStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.take(len(b)); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return s.DirStore.Put(ctx, key, bytes.NewReader(b), size)
}

type fullFile struct {
	dataset.PendingFile
	s *fullStore
}

func (f *fullFile) Write(b []byte) (int, error) {
	if err := f.s.take(len(b)); err != nil {
		return 0, err
	}
	return f.PendingFile.Write(b)
}

// manyObjects writes n gzip log objects of one distribution, each of
// lines lines over one hour, and returns their folder.
func manyObjects(t testing.TB, n, lines int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		start := dataset.TestHour0.Add(time.Duration(i%6) * time.Hour)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(dataset.GenLog(start, time.Hour, lines, uint64(100+i)))
		zw.Close()
		name := fmt.Sprintf("E2PROD.%s.%04d.gz", start.Format("2006-01-02-15"), i)
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSummaryEqualsCommittedAfterDiskFull: when writes start failing in
// the middle of a run, the summary counts exactly the rows the dataset
// holds, names every other object as failed, and says incomplete; a
// rerun with room completes the dataset.
func TestSummaryEqualsCommittedAfterDiskFull(t *testing.T) {
	ctx := context.Background()
	const objects, lines = 24, 1500
	logs := manyObjects(t, objects, lines)
	o := dataset.Options{BufferBytes: 256 << 10, CompactRows: -1, Parallel: 1}
	run := func(root string, limit int64) (*ingest.Summary, *fullStore, error) {
		t.Helper()
		d, err := dataset.NewDirStore(root)
		if err != nil {
			t.Fatal(err)
		}
		st := &fullStore{DirStore: d, limit: limit}
		w, err := dataset.NewWriter(ctx, st, o)
		if err != nil {
			t.Fatal(err)
		}
		src, err := dirsource.New(logs, schema.RoleProduction)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := ingest.Run(ctx, ingest.Options{Workers: 2}, []ingest.Source{src}, w)
		return sum, st, err
	}
	// A clean run measures how many bytes the dataset takes.
	sum, st, err := run(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	total := st.written
	if sum.Rows != objects*lines {
		t.Fatalf("clean run: %d rows, want %d", sum.Rows, objects*lines)
	}

	for _, share := range []int64{0, 3, 6, 9} {
		t.Run(fmt.Sprintf("full after %d tenths", share), func(t *testing.T) {
			root := t.TempDir()
			sum, _, err := run(root, total*share/10)
			if !errors.Is(err, ingest.ErrIncomplete) || sum.Complete {
				t.Fatalf("run with a full disk: err %v, complete %v; want incomplete", err, sum.Complete)
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("run error %v does not carry the write error", err)
			}
			rows, distinct := globCounts(t, root)
			if sum.Rows != rows || distinct != rows {
				t.Errorf("summary counts %d rows; the dataset holds %d (%d distinct (source, line))", sum.Rows, rows, distinct)
			}
			// Every object is counted whole or named as failed.
			var held []string
			if hasParquet(t, root) {
				db := openDuckDB(t)
				for _, r := range queryRows(t, db, fmt.Sprintf("SELECT DISTINCT source FROM %s", relation(root))) {
					held = append(held, r[0])
				}
			}
			var failed []string
			for _, f := range sum.Failed {
				failed = append(failed, filepath.Base(f.Object))
			}
			if int(sum.Objects)+len(failed) != objects {
				t.Errorf("%d objects counted + %d failed, want %d in all", sum.Objects, len(failed), objects)
			}
			if int(sum.Objects) != len(held) {
				t.Errorf("summary counts %d objects; the dataset holds rows of %d", sum.Objects, len(held))
			}
			sort.Strings(held)
			for _, f := range failed {
				if i := sort.SearchStrings(held, f); i < len(held) && held[i] == f {
					t.Errorf("%s named as failed but its rows are in the dataset", f)
				}
			}
			t.Logf("limit %d of %d bytes: %d objects, %d rows written; %d failed", total*share/10, total, sum.Objects, sum.Rows, len(failed))

			// A rerun with room takes the rest.
			sum2, _, err := run(root, -1)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if sum2.Objects != int64(len(failed)) {
				t.Errorf("rerun read %d objects, want the %d that failed", sum2.Objects, len(failed))
			}
			if rows, distinct := globCounts(t, root); rows != objects*lines || distinct != rows {
				t.Errorf("after the rerun: %d rows, %d distinct, want %d", rows, distinct, objects*lines)
			}
		})
	}
}
