package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/s3source"
	"github.com/cflens/cflens/ingest/s3store"
	"github.com/cflens/cflens/ingest/s3test"
	"github.com/cflens/cflens/ingest/schema"
)

// logSources returns the sources of the corpus folder, one per role.
func logSources(t testing.TB, logs string) []ingest.Source {
	t.Helper()
	var sources []ingest.Source
	for _, role := range []string{schema.RoleProduction, schema.RoleStaging} {
		src, err := dirsource.New(filepath.Join(logs, role), role)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, src)
	}
	return sources
}

// ingestWhenFree runs one ingest of the corpus into st, as a scheduler
// that retries a busy dataset would: while another run holds the lease,
// NewWriter fails with ErrBusy and the run tries again a little later
// (a bounded number of times). It returns how often it found the
// dataset busy.
func ingestWhenFree(ctx context.Context, t testing.TB, logs string, st dataset.Store) (busy int, err error) {
	o := dataset.Options{BufferBytes: 1 << 20, CompactRows: -1}
	for range 3000 {
		w, err := dataset.NewWriter(ctx, st, o)
		if errors.Is(err, dataset.ErrBusy) {
			busy++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err != nil {
			return busy, err
		}
		sum, err := ingest.Run(ctx, ingest.Options{Workers: 2}, logSources(t, logs), w)
		if err == nil && !sum.Complete {
			err = fmt.Errorf("run incomplete: %+v", sum.Failed)
		}
		return busy, err
	}
	return busy, errors.New("dataset still busy after 3000 tries")
}

// globCounts counts the rows that a reader of **/*.parquet sees in the
// folder, and the distinct (source, line) pairs among them, with DuckDB.
func globCounts(t testing.TB, root string) (rows, distinct int64) {
	t.Helper()
	if !hasParquet(t, root) {
		return 0, 0 // DuckDB refuses a glob that matches nothing
	}
	db := openDuckDB(t)
	q := fmt.Sprintf("SELECT count(*), count(DISTINCT (source, line)) FROM %s", relation(root))
	if err := db.QueryRow(q).Scan(&rows, &distinct); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return rows, distinct
}

// hasParquet reports whether a glob reader of root/**/*.parquet finds a
// file.
func hasParquet(t testing.TB, root string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// copyParquet copies the *.parquet objects of st into a new folder, as a
// glob reader of the bucket would find them.
func copyParquet(t testing.TB, st dataset.Store) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for ref, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(ref.Key, ".parquet") || strings.HasPrefix(ref.Key, "_") {
			continue
		}
		rc, err := st.Get(ctx, ref.Key)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(ref.Key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(f, rc)
		rc.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestConcurrentIngests starts two and four ingests of the same logs into
// one dataset at once, on a folder and on S3: one run at a time holds the
// dataset, the others wait for it, and the dataset equals a single clean
// run (every parsed line once, as DuckDB reads the Parquet files and as
// cflens reads the journal).
func TestConcurrentIngests(t *testing.T) {
	logs, want := corpus(t)
	for _, where := range []string{"folder", "s3"} {
		for _, n := range []int{2, 4} {
			t.Run(fmt.Sprintf("%s/%d runs", where, n), func(t *testing.T) {
				ctx := context.Background()
				var st dataset.Store
				root := t.TempDir()
				switch where {
				case "folder":
					d, err := dataset.NewDirStore(root)
					if err != nil {
						t.Fatal(err)
					}
					st = d
				case "s3":
					srv := s3test.Start(t)
					c := s3test.Client(srv.URL)
					bucket := fmt.Sprintf("cflens-concurrent-%d", n)
					s3test.CreateBucket(t, c, bucket)
					loc, err := s3source.ParseURL("s3://" + bucket + "/ds/")
					if err != nil {
						t.Fatal(err)
					}
					st = s3store.NewStore(c, loc)
				}
				start := make(chan struct{})
				errs := make([]error, n)
				busy := make([]int, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						<-start
						busy[i], errs[i] = ingestWhenFree(ctx, t, logs, st)
					})
				}
				close(start)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("run %d: %v", i, err)
					}
				}
				t.Logf("runs found the dataset busy %v times", busy)

				if where == "s3" {
					root = copyParquet(t, st)
				}
				rows, distinct := globCounts(t, root)
				if rows != int64(len(want)) || distinct != int64(len(want)) {
					t.Errorf("glob reader sees %d rows, %d distinct (source, line); a clean run has %d of each", rows, distinct, len(want))
				}
				sink := &countingSink{}
				c, err := dataset.Read(ctx, st, dataset.ReadOptions{SpoolDir: t.TempDir()}, sink)
				if err != nil {
					t.Fatal(err)
				}
				if c.Rows != int64(len(want)) {
					t.Errorf("dataset.Read delivers %d rows, want %d", c.Rows, len(want))
				}
			})
		}
	}
}

// countingSink counts the rows it is given.
type countingSink struct {
	mu   sync.Mutex
	rows int64
}

func (s *countingSink) Begin(ctx context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	return &countingObject{s: s}, nil
}

func (s *countingSink) Close(ctx context.Context) error { return nil }

type countingObject struct {
	s    *countingSink
	rows int64
}

func (o *countingObject) Write(b arrow.RecordBatch) error {
	o.rows += b.NumRows()
	return nil
}

func (o *countingObject) Commit() error {
	o.s.mu.Lock()
	o.s.rows += o.rows
	o.s.mu.Unlock()
	return nil
}

func (o *countingObject) Abort() {}
