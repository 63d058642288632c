package dataset_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/schema"
)

// objectStore hides every method of a folder store but the Store ones,
// as S3 offers: no file creation in place, no folder exchange.
type objectStore struct{ d *dataset.DirStore }

func (s objectStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return s.d.Put(ctx, key, r, size)
}
func (s objectStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return s.d.PutIfAbsent(ctx, key, r, size)
}
func (s objectStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.d.Get(ctx, key)
}
func (s objectStore) List(ctx context.Context, prefix string) iter.Seq2[ingest.ObjectRef, error] {
	return s.d.List(ctx, prefix)
}
func (s objectStore) Delete(ctx context.Context, key string) error { return s.d.Delete(ctx, key) }

// pairSink collects the (source, line) pairs of the rows it is given.
type pairSink struct {
	mu    sync.Mutex
	rows  int64
	pairs map[string]bool
}

func (s *pairSink) Begin(ctx context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	return &pairObject{s: s}, nil
}
func (s *pairSink) Close(ctx context.Context) error { return nil }

type pairObject struct {
	s     *pairSink
	pairs []string
}

func (o *pairObject) Write(b arrow.RecordBatch) error {
	src, line := b.Column(schema.Source), b.Column(schema.Line).(*array.Int64)
	for i := 0; i < int(b.NumRows()); i++ {
		o.pairs = append(o.pairs, fmt.Sprintf("%s:%d", src.ValueStr(i), line.Value(i)))
	}
	return nil
}

func (o *pairObject) Commit() error {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	for _, p := range o.pairs {
		o.s.pairs[p] = true
	}
	o.s.rows += int64(len(o.pairs))
	return nil
}
func (o *pairObject) Abort() {}

// journalCounts reads the dataset as cflens does (through the journal)
// and counts rows and distinct (source, line) pairs.
func journalCounts(t testing.TB, st dataset.Store) (rows, distinct int64) {
	t.Helper()
	s := &pairSink{pairs: map[string]bool{}}
	if _, err := dataset.Read(context.Background(), st, dataset.ReadOptions{SpoolDir: t.TempDir()}, s); err != nil {
		t.Fatalf("read through the journal: %v", err)
	}
	return s.rows, int64(len(s.pairs))
}

// copyTree copies the regular files under src to dst, except the lease
// folder: what a killed run leaves on disk, minus its lease.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if strings.HasSuffix(filepath.ToSlash(rel), "_cflens/lease") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// replaceObjects writes n log objects of one distribution, each spanning
// span from one of three starting hours, version v: another version has
// other content and the same number of lines.
func replaceObjects(t testing.TB, dir string, n, lines int, v int, span time.Duration) {
	t.Helper()
	for i := range n {
		start := dataset.TestHour0.Add(time.Duration(i%3) * time.Hour)
		data := dataset.GenLog(start, span, lines, uint64(1000*v+i))
		name := fmt.Sprintf("E2PROD.%s.%04d.log", start.Format("2006-01-02-15"), i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplaceVisibility stops a run that replaces every object of an
// earlier one (and merges small files at its end) after each step of
// each checkpoint. At every stop, cflens reading through the journal sees
// every (source, line) once; on a folder, so does DuckDB reading
// **/*.parquet (the replaced folder is exchanged in one step). A copy of
// the dataset as a run killed there would leave it, once reopened, holds
// every row once, for both readers.
//
// In "folder, staged objects" the replacing run stages every object
// (StageBytes small) and its objects span an hour more than before, so
// that a checkpoint both replaces files and adopts a staging file as the
// whole of a new hour's file: that file must go into the folder being
// exchanged, not the live one.
func TestReplaceVisibility(t *testing.T) {
	const objects, lines = 12, 400
	const want = objects * lines
	for _, kind := range []string{"folder", "object store", "folder, staged objects"} {
		t.Run(kind, func(t *testing.T) {
			local := kind != "object store"
			staged := kind == "folder, staged objects"
			ctx := context.Background()
			logs, parent := t.TempDir(), t.TempDir()
			root := filepath.Join(parent, "ds")
			d, err := dataset.NewDirStore(root)
			if err != nil {
				t.Fatal(err)
			}
			var st dataset.Store = d
			if kind == "object store" {
				st = objectStore{d}
			}
			o := dataset.Options{BufferBytes: 512 << 10, Parallel: 1}
			ingestOnce := func(o dataset.Options) {
				t.Helper()
				w, err := dataset.NewWriter(ctx, st, o)
				if err != nil {
					t.Fatal(err)
				}
				sum, err := ingest.Run(ctx, ingest.Options{Workers: 1}, logSources1(t, logs), w)
				if err != nil || sum.Rows != want {
					t.Fatalf("ingest: %v, %d rows, want %d", err, sum.Rows, want)
				}
			}
			replaceObjects(t, logs, objects, lines, 1, 2*time.Hour)
			ingestOnce(o)

			steps := map[string]int{}
			// adoptedInReplace counts checkpoints that adopted a staging
			// file and exchanged a folder.
			var adopted, exchanged bool
			adoptedInReplace := 0
			var checkStep func(step string, n int)
			hook := func(step string) {
				steps[step]++
				switch step {
				case "adopted":
					adopted = true
				case "exchanged":
					exchanged = true
				case "committed":
					if adopted && exchanged {
						adoptedInReplace++
					}
					adopted, exchanged = false, false
				}
				// The checks run in a goroutine of their own, so that a
				// failing one ends it, not the writer's.
				done := make(chan struct{})
				go func() {
					defer close(done)
					checkStep(step, steps[step])
				}()
				<-done
			}
			checkStep = func(step string, n int) {
				if rows, distinct := journalCounts(t, st); rows != want || distinct != want {
					t.Errorf("after %s #%d, cflens reads %d rows, %d distinct; want %d", step, n, rows, distinct, want)
				}
				if local {
					if rows, distinct := globCounts(t, root); rows != want || distinct != want {
						t.Errorf("after %s #%d, DuckDB reads %d rows, %d distinct; want %d", step, n, rows, distinct, want)
					}
				}
				// What a run killed here leaves, reopened.
				killed := t.TempDir()
				copyTree(t, parent, killed)
				kd, err := dataset.NewDirStore(filepath.Join(killed, "ds"))
				if err != nil {
					t.Fatal(err)
				}
				var kst dataset.Store = kd
				if kind == "object store" {
					kst = objectStore{kd}
				}
				w, err := dataset.NewWriter(ctx, kst, dataset.Options{})
				if err != nil {
					t.Fatalf("reopen after a kill at %s #%d: %v", step, n, err)
				}
				if err := w.Close(ctx); err != nil {
					t.Fatal(err)
				}
				if rows, distinct := journalCounts(t, kst); rows != want || distinct != want {
					t.Errorf("killed at %s #%d and reopened, cflens reads %d rows, %d distinct; want %d", step, n, rows, distinct, want)
				}
				if rows, distinct := globCounts(t, kd.Root()); rows != want || distinct != want {
					t.Errorf("killed at %s #%d and reopened, DuckDB reads %d rows, %d distinct; want %d", step, n, rows, distinct, want)
				}
			}
			o2, span := o, 2*time.Hour
			if staged {
				o2.StageBytes, span = 16<<10, 3*time.Hour
			}
			replaceObjects(t, logs, objects, lines, 2, span)
			ingestOnce(dataset.WithStepHook(o2, hook))
			t.Logf("steps stopped at: %v", steps)
			if local && steps["exchanged"] == 0 {
				t.Errorf("no partition folder was exchanged: the replace did not take the atomic path")
			}
			if staged && adoptedInReplace == 0 {
				t.Errorf("no checkpoint adopted a staging file while exchanging a folder (steps %v)", steps)
			}
			if steps["committed"] < 2 {
				t.Errorf("%d checkpoints, want several", steps["committed"])
			}
			if rows, distinct := globCounts(t, root); rows != want || distinct != want {
				t.Errorf("after the run, DuckDB reads %d rows, %d distinct; want %d", rows, distinct, want)
			}
			if _, err := os.Stat(filepath.Join(parent, ".ds.cflens-stage")); !os.IsNotExist(err) {
				t.Errorf("staging folder left after the run: %v", err)
			}
			for _, name := range []string{"ds"} {
				filepath.WalkDir(filepath.Join(parent, name), func(p string, d fs.DirEntry, err error) error {
					if err == nil && strings.HasPrefix(d.Name(), ".cflens-swap-") {
						t.Errorf("marker %s left after the run", p)
					}
					return nil
				})
			}
		})
	}
}

// logSources1 is the folder of logs as one production source.
func logSources1(t testing.TB, logs string) []ingest.Source {
	t.Helper()
	src, err := dirsource.New(logs, schema.RoleProduction)
	if err != nil {
		t.Fatal(err)
	}
	return []ingest.Source{src}
}
