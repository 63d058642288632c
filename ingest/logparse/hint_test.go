package logparse_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/logparse"
)

// readAll reads a .gz log file whole, with the options given, and
// returns its batches and the bytes allocated meanwhile.
func readAll(t *testing.T, path string, opts ...logparse.Option) (batches []string, allocated uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := logparse.Open(f, logparse.FormatAuto, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var kept []arrow.RecordBatch
	for r.Next() {
		b := r.Batch()
		b.Retain()
		kept = append(kept, b)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	for _, b := range kept {
		for i := range int(b.NumCols()) {
			batches = append(batches, b.ColumnName(i)+"="+b.Column(i).String())
		}
		b.Release()
	}
	return batches, after.TotalAlloc - before.TotalAlloc
}

// TestSizeHint reads objects of the realistic corpus after a first one
// has told the hint its size: the batches are the same as without the
// hint, and reading them allocates less, as the first batch no longer
// regrows its buffers from empty.
func TestSizeHint(t *testing.T) {
	dir := t.TempDir()
	c, err := loggen.WriteCorpus(context.Background(), dir, loggen.CorpusOptions{Lines: 60000, Files: 6, Seed: 3, Realistic: true, ProbeShare: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	size := func(name string) int64 {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var hint logparse.SizeHint
	first := c.Names[0]
	readAll(t, filepath.Join(dir, first), logparse.WithSizeHint(&hint, size(first)))
	var plainBytes, hintedBytes uint64
	for _, name := range c.Names[1:] {
		path := filepath.Join(dir, name)
		want, plain := readAll(t, path)
		got, hinted := readAll(t, path, logparse.WithSizeHint(&hint, size(name)))
		if len(got) != len(want) {
			t.Fatalf("%s: %d columns of batches with the hint, %d without", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: batch column %d differs with the hint", name, i)
			}
		}
		plainBytes += plain
		hintedBytes += hinted
	}
	t.Logf("allocated without the hint %d bytes, with it %d (%.2f)", plainBytes, hintedBytes, float64(hintedBytes)/float64(plainBytes))
	if hintedBytes*4 > plainBytes*3 {
		t.Errorf("with the hint reading allocated %d bytes, without %d: want at most three quarters", hintedBytes, plainBytes)
	}
}

// TestSizeHintUnknownSize: an object of unknown size (0) is read as
// without a hint.
func TestSizeHintUnknownSize(t *testing.T) {
	var hint logparse.SizeHint
	in := "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status\n" +
		"2025-09-10\t00:00:01\tLHR62-C5\t1024\t192.0.2.1\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\n"
	for range 2 {
		r := logparse.NewReader(strings.NewReader(in), logparse.WithSizeHint(&hint, 0))
		n := 0
		for r.Next() {
			n += int(r.Batch().NumRows())
		}
		r.Release()
		if n != 1 {
			t.Errorf("%d rows, want 1", n)
		}
	}
}
