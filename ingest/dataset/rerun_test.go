package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

func openWriter(t testing.TB, root string, o Options) (*Writer, *DirStore) {
	t.Helper()
	st, err := NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	return w, st
}

func TestRerun(t *testing.T) {
	objs := testObjects(t)
	want := expectedRows(t, objs)
	mem := memory.NewGoAllocator()
	for _, tc := range []struct {
		name  string
		force bool // ignore Has: re-ingest every object
	}{
		{"skips what the journal holds", false},
		{"forced re-ingest recreates the same files", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			w, st := openWriter(t, root, Options{})
			ingestObjects(t, mem, w, objs, false)
			before := visibleFiles(t, root)
			w, _ = openWriter(t, root, Options{})
			n := ingestObjects(t, mem, w, objs, tc.force)
			if !tc.force && n != 0 {
				t.Errorf("rerun wrote %d objects, want 0", n)
			}
			after := visibleFiles(t, root)
			if diff := cmp.Diff(keysOf(before), keysOf(after)); diff != "" {
				t.Errorf("files changed (-before +after):\n%s", diff)
			}
			for k := range before {
				if before[k] != after[k] {
					t.Errorf("%s changed content", k)
				}
			}
			got, _ := readAll(t, st, ReadOptions{}, schema.Arrow())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func keysOf(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return sortedStrings(ks)
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// TestChangedObjectReplacesItsRows: an object that comes back with a new
// ETag and other content replaces its old rows in every partition; the
// other objects' rows stay.
func TestChangedObjectReplacesItsRows(t *testing.T) {
	objs := testObjects(t)
	root := t.TempDir()
	mem := memory.NewGoAllocator()
	w, st := openWriter(t, root, Options{})
	ingestObjects(t, mem, w, objs, false)

	changed := append([]object(nil), objs...)
	i := len(changed) - 2 // a generated object spanning three hours
	changed[i].data = genLog(hour0.Add(2*3600e9), 3600e9, 700, 99)
	changed[i].ref.ETag = "g2"
	changed[i].ref.Size = int64(len(changed[i].data))

	w, _ = openWriter(t, root, Options{})
	if n := ingestObjects(t, mem, w, changed, false); n != 1 {
		t.Errorf("re-ingested %d objects, want 1", n)
	}
	got, _ := readAll(t, st, ReadOptions{}, schema.Arrow())
	want := expectedRows(t, changed)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, f := range w.Files() {
		for _, o := range f.Objects {
			if o.Key == changed[i].ref.Key && o.ETag != "g2" {
				t.Errorf("%s still holds %s@%s", f.Key, o.Key, o.ETag)
			}
		}
	}
}

// crashStore wraps a DirStore and ends the process at a chosen step, as a
// kill would: no deferred function runs, nothing is cleaned up.
type crashStore struct {
	*DirStore
	at    string // "data-midway", "data-written", "committed"
	count int
}

func (c *crashStore) Create(ctx context.Context, key string) (PendingFile, error) {
	pf, err := c.DirStore.Create(ctx, key)
	if err != nil || !strings.HasSuffix(key, dataSuffix) {
		return pf, err
	}
	return &crashFile{PendingFile: pf, c: c}, nil
}

// stage wraps the files written into a staging folder (swap.go) like
// those written in place.
func (c *crashStore) stage(r swapRecord, seq int64, drop []string) (FileCreator, error) {
	fc, err := c.DirStore.stage(r, seq, drop)
	if err != nil {
		return nil, err
	}
	return crashCreator{fc: fc, c: c}, nil
}

type crashCreator struct {
	fc FileCreator
	c  *crashStore
}

func (cc crashCreator) Create(ctx context.Context, key string) (PendingFile, error) {
	pf, err := cc.fc.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return &crashFile{PendingFile: pf, c: cc.c}, nil
}

type crashFile struct {
	PendingFile
	c *crashStore
	n int
}

func (f *crashFile) Write(b []byte) (int, error) {
	f.n += len(b)
	if f.c.at == "data-midway" && f.n > 4096 {
		n, _ := f.PendingFile.Write(b[:len(b)/2])
		_ = n
		os.Exit(3)
	}
	return f.PendingFile.Write(b)
}

func (f *crashFile) Commit() error {
	err := f.PendingFile.Commit()
	f.c.count++
	if f.c.at == "data-written" && f.c.count == 2 {
		os.Exit(3)
	}
	return err
}

func (c *crashStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := c.DirStore.Put(ctx, key, r, size); err != nil {
		return err
	}
	if c.at == "committed" && strings.HasSuffix(key, commitSuffix) && !strings.HasSuffix(key, pendingSuffix) {
		os.Exit(3)
	}
	return nil
}

// TestCrashHelper is the child process of TestCrash; it does nothing
// unless started by it.
func TestCrashHelper(t *testing.T) {
	at, root := os.Getenv("CFLENS_CRASH_AT"), os.Getenv("CFLENS_CRASH_ROOT")
	if at == "" {
		t.Skip("run by TestCrash")
	}
	objs := testObjects(t)
	if os.Getenv("CFLENS_CRASH_CHANGE") != "" {
		objs = changedObjects(objs)
	}
	d, err := NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	st := &crashStore{DirStore: d, at: at}
	w, err := NewWriter(context.Background(), st, Options{BufferBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ingestObjects(t, memory.NewGoAllocator(), w, objs, false)
	t.Fatalf("no crash at %s", at)
}

// changedObjects returns objs with every generated object's content and
// ETag changed, so a rerun replaces files.
func changedObjects(objs []object) []object {
	out := append([]object(nil), objs...)
	for i := range out {
		if strings.HasPrefix(out[i].ref.Key, "logs/") {
			out[i].data = genLog(hour0, 3*3600e9, 500+i, uint64(50+i))
			out[i].ref.ETag = "changed"
			out[i].ref.Size = int64(len(out[i].data))
		}
	}
	return out
}

// TestCrash kills a writer at each step of a checkpoint and checks that
// readers never see a partial file, and that the next run leaves exactly
// the rows of one complete ingestion.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	objs := testObjects(t)
	for _, tc := range []struct {
		name   string
		at     string
		change bool // the crashing run replaces files of an earlier run
	}{
		{"killed while writing a data file", "data-midway", false},
		{"killed after data files, before the commit record", "data-written", false},
		{"killed after the commit record, before deleting replaced files", "committed", true},
		{"replacing run killed before its commit record", "data-written", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mem := memory.NewGoAllocator()
			final := objs
			if tc.change {
				w, _ := openWriter(t, root, Options{})
				ingestObjects(t, mem, w, objs, false)
				final = changedObjects(objs)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
			cmd.Env = append(os.Environ(), "CFLENS_CRASH_AT="+tc.at, "CFLENS_CRASH_ROOT="+root)
			if tc.change {
				cmd.Env = append(cmd.Env, "CFLENS_CRASH_CHANGE=1")
			}
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("child did not crash as planned: %v\n%s", err, out)
			}
			// What a reader sees right after the crash: only complete files.
			for k := range visibleFiles(t, root) {
				if err := readWhole(root, k); err != nil {
					t.Errorf("visible file %s is not a complete Parquet file: %v", k, err)
				}
			}
			// The next run recovers and completes the ingestion.
			w, st := openWriter(t, root, Options{})
			ingestObjects(t, mem, w, final, false)
			got, _ := readAll(t, st, ReadOptions{}, schema.Arrow())
			if diff := cmp.Diff(expectedRows(t, final), got); diff != "" {
				t.Errorf("rows after recovery (-want +got):\n%s", diff)
			}
			// Every visible file is a journal file: a glob reader such as
			// Athena or DuckDB counts no row twice.
			var live []string
			for _, f := range w.Files() {
				live = append(live, f.Key)
			}
			if diff := cmp.Diff(sortedStrings(live), keysOf(visibleFiles(t, root))); diff != "" {
				t.Errorf("visible files differ from the journal (-journal +visible):\n%s", diff)
			}
			var leftovers []string
			filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
				if err == nil && !e.IsDir() && (strings.HasPrefix(e.Name(), tempPrefix) || strings.HasSuffix(e.Name(), pendingSuffix)) {
					leftovers = append(leftovers, p)
				}
				return nil
			})
			if len(leftovers) > 0 {
				t.Errorf("left over: %v", leftovers)
			}
		})
	}
}

// readWhole reads every row of a data file.
func readWhole(root, key string) error {
	st, err := NewDirStore(root)
	if err != nil {
		return err
	}
	mem := memory.NewGoAllocator()
	rd, closeFile, err := openParquet(context.Background(), st, key, "", mem)
	if err != nil {
		return err
	}
	defer closeFile()
	all := make([]int, schema.NumColumns)
	for i := range all {
		all[i] = i
	}
	var n int64
	err = fileBatches(context.Background(), rd, all, 4096, mem, func(b arrow.RecordBatch) error { n += b.NumRows(); return nil })
	if err == nil && n != rd.NumRows() {
		err = fmt.Errorf("read %d of %d rows", n, rd.NumRows())
	}
	return err
}

// TestSmallObjectsCompacted: many small objects of one hour end in one
// file, whether they come in one run or one per run (an hourly job).
func TestSmallObjectsCompacted(t *testing.T) {
	var objs []object
	for i := 0; i < 40; i++ {
		data := genLog(hour0, 3600e9, 25, uint64(i+300))
		objs = append(objs, object{ref: ingestRef(fmt.Sprintf("logs/E2PROD.2025-09-10-07.%04d.gz", i), "E2PROD", data), data: data})
	}
	want := expectedRows(t, objs)
	mem := memory.NewGoAllocator()
	for _, tc := range []struct {
		name    string
		perRun  int
		options Options
		files   int
	}{
		{"one run", 40, Options{}, 1},
		{"one object per run", 1, Options{}, 1},
		{"four objects per run, merging off", 4, Options{CompactRows: -1}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for i := 0; i < len(objs); i += tc.perRun {
				w, _ := openWriter(t, root, tc.options)
				ingestObjects(t, mem, w, objs[i:i+tc.perRun], false)
			}
			if got := len(visibleFiles(t, root)); got != tc.files {
				t.Errorf("%d files, want %d", got, tc.files)
			}
			st, _ := NewDirStore(root)
			got, _ := readAll(t, st, ReadOptions{}, schema.Arrow())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func ingestRef(key, dist string, data []byte) ingest.ObjectRef {
	return ingest.ObjectRef{Key: key, ETag: "e1", Size: int64(len(data)), DistributionID: dist, Role: schema.RoleProduction}
}
