package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cflens/cflens/ingest/loggen"
)

// childEnv switches the test binary into the cflens command, so tests can
// run it as a separate process (to kill it, or send it signals) without
// building another binary.
const childEnv = "CFLENS_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// cliCommand returns the cflens command with args as a child process.
func cliCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd
}

// runCLIChild runs cflens in a child process to its end and returns its
// exit code and outputs.
func runCLIChild(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := cliCommand(context.Background(), args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("cflens %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errw.String()
}

// writeScenario writes hours of the default scenario at scale as legacy
// log files into a new folder and returns it.
func writeScenario(t *testing.T, hours int, scale float64) string {
	t.Helper()
	sc := loggen.DefaultScenario(scale)
	sc.Hours = hours
	for len(sc.Windows) > 1 && !sc.Windows[len(sc.Windows)-1].Start.Before(sc.End()) {
		sc.Windows = sc.Windows[:len(sc.Windows)-1]
	}
	for len(sc.Peaks) > 0 && !sc.Peaks[len(sc.Peaks)-1].Start.Before(sc.End()) {
		sc.Peaks = sc.Peaks[:len(sc.Peaks)-1]
	}
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := loggen.WriteDir(context.Background(), sc, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// datasetView is what a reader globbing "*.parquet" under a dataset
// folder (Athena, DuckDB, Spark) sees.
type datasetView struct {
	// rows maps (source, line) to the digest of the row's values.
	rows map[string]uint64
	// dups lists (source, line) pairs seen more than once.
	dups []string
	// partitions counts rows per partition folder.
	partitions map[string]int64
	files      int
}

// readDatasetView reads every *.parquet file under root whole with
// arrow-go. Any file that does not open or read fully fails the test: a
// reader must never see a partial file. A root that does not exist (a run
// stopped before it made its dataset folder) is an empty dataset.
func readDatasetView(t *testing.T, root string) *datasetView {
	t.Helper()
	v := &datasetView{rows: map[string]uint64{}, partitions: map[string]int64{}}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if e.IsDir() {
			if name := e.Name(); p != root && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir // hidden from Hive-style readers
			}
			return nil
		}
		if !strings.HasSuffix(e.Name(), ".parquet") || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		v.files++
		return readParquetRows(p, func(key string, digest uint64) {
			if _, ok := v.rows[key]; ok {
				v.dups = append(v.dups, key)
			}
			v.rows[key] = digest
			v.partitions[filepath.ToSlash(rel)]++
		})
	})
	if err != nil {
		t.Fatalf("read dataset %s: %v", root, err)
	}
	sort.Strings(v.dups)
	return v
}

// readParquetRows reads every column of every row of a Parquet file and
// calls fn with each row's (source, line) key and a digest of its values.
func readParquetRows(path string, fn func(key string, digest uint64)) error {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	rd, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer rd.Close()
	fr, err := pqarrow.NewFileReader(rd, pqarrow.ArrowReadProperties{BatchSize: 8192}, mem)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer rr.Release()
	sch := rr.Schema()
	srcIdx, lineIdx := sch.FieldIndices("source"), sch.FieldIndices("line")
	if len(srcIdx) != 1 || len(lineIdx) != 1 {
		return fmt.Errorf("%s: no source or line column", path)
	}
	var n int64
	for rr.Next() {
		b := rr.RecordBatch()
		for i := 0; i < int(b.NumRows()); i++ {
			h := fnv.New64a()
			for c := 0; c < int(b.NumCols()); c++ {
				h.Write([]byte(cellString(b.Column(c), i)))
				h.Write([]byte{0})
			}
			fn(cellString(b.Column(srcIdx[0]), i)+"\x00"+cellString(b.Column(lineIdx[0]), i), h.Sum64())
		}
		n += b.NumRows()
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if n != rd.NumRows() {
		return fmt.Errorf("read %s: %d of %d rows", path, n, rd.NumRows())
	}
	return nil
}

// cellString renders one value; nulls differ from every string.
func cellString(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "\x01null"
	}
	switch a := a.(type) {
	case *array.Dictionary:
		return cellString(a.Dictionary(), a.GetValueIndex(i))
	case *array.String:
		return a.Value(i)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Timestamp:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Date32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	}
	return a.ValueStr(i)
}

// compareViews reports every difference between a dataset and the
// reference: rows missing, rows extra, rows twice, rows changed, and
// partition counts.
func compareViews(ref, got *datasetView) []string {
	var diffs []string
	if len(got.dups) > 0 {
		diffs = append(diffs, fmt.Sprintf("%d rows twice, first %q", len(got.dups), got.dups[0]))
	}
	var missing, extra, changed int
	for k, d := range ref.rows {
		g, ok := got.rows[k]
		switch {
		case !ok:
			missing++
		case g != d:
			changed++
		}
	}
	for k := range got.rows {
		if _, ok := ref.rows[k]; !ok {
			extra++
		}
	}
	if missing+extra+changed > 0 {
		diffs = append(diffs, fmt.Sprintf("%d rows missing, %d extra, %d changed", missing, extra, changed))
	}
	for p, n := range ref.partitions {
		if got.partitions[p] != n {
			diffs = append(diffs, fmt.Sprintf("partition %s: %d rows, want %d", p, got.partitions[p], n))
		}
	}
	for p, n := range got.partitions {
		if _, ok := ref.partitions[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("partition %s: %d rows, want none", p, n))
		}
	}
	return diffs
}

// journalRecords counts the commit records in the journal of the dataset
// in root (none while there is no journal yet).
func journalRecords(root string) int {
	names, _ := filepath.Glob(filepath.Join(root, "_cflens", "journal", "*.json"))
	n := 0
	for _, name := range names {
		if !strings.Contains(filepath.Base(name), ".pending.") {
			n++
		}
	}
	return n
}

// startCLI starts the command as a child process; done is closed once
// it has exited.
func startCLI(t *testing.T, cmd *exec.Cmd) (done <-chan struct{}) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() {
		cmd.Wait()
		close(ch)
	}()
	return ch
}

// interruptPoint is when a test stops a running ingest: after a delay, or
// once the dataset's journal holds a number of commit records (which
// lands between commits however fast or slow the machine is).
type interruptPoint struct {
	delay   time.Duration
	records int
}

func (p interruptPoint) String() string {
	if p.records > 0 {
		return fmt.Sprintf("after commit %d", p.records)
	}
	return "after " + p.delay.Round(time.Millisecond).String()
}

// waitPoint waits until the point is reached in the run writing the
// dataset root, and reports whether the run was still going then (false:
// it had exited before).
func waitPoint(p interruptPoint, root string, done <-chan struct{}) bool {
	if p.records == 0 {
		select {
		case <-time.After(p.delay):
			return true
		case <-done:
			return false
		}
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-tick.C:
			if journalRecords(root) >= p.records {
				return true
			}
		}
	}
}

// leftovers lists temporary or pending files under root.
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (strings.HasSuffix(e.Name(), ".tmp") || strings.HasPrefix(e.Name(), ".tmp-") || strings.Contains(e.Name(), ".pending.")) {
			out = append(out, p)
		}
		return nil
	})
	return out
}
