package loggen

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
)

// readCorpusDir returns the files of a folder (but the marker) and their
// bytes.
func readCorpusDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.Name() == CorpusMarker {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}

func TestWriteCorpus(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := CorpusOptions{Lines: 10_007, Files: 20, Seed: 7}
	c, err := WriteCorpus(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Reused {
		t.Error("a new corpus reports Reused")
	}
	files := readCorpusDir(t, dir)
	if len(files) != opts.Files || len(c.Names) != opts.Files {
		t.Fatalf("%d files on disk, %d named, want %d", len(files), len(c.Names), opts.Files)
	}
	var lines, size int64
	ids := map[string]int{}
	for name, data := range files {
		info, ok := ingest.ParseKey(name)
		if !ok || info.Hour.IsZero() {
			t.Errorf("ParseKey(%s) = %+v, %t", name, info, ok)
		}
		ids[info.DistributionID]++
		ls := gunzipLines(t, name, data)
		if ls[0]+"\n"+ls[1]+"\n" != LegacyHeader() {
			t.Errorf("%s: header %q", name, ls[:2])
		}
		for _, l := range ls[2:] {
			if n := strings.Count(strings.TrimSuffix(l, "\t"), "\t") + 1; n != 33 {
				t.Fatalf("%s: %d fields", name, n)
			}
		}
		lines += int64(len(ls) - 2)
		size += int64(len(data))
	}
	if lines != opts.Lines {
		t.Errorf("%d records, want %d", lines, opts.Lines)
	}
	if size != c.Bytes {
		t.Errorf("%d bytes on disk, marker says %d", size, c.Bytes)
	}
	if ids[c.Production] == 0 || ids[c.Staging] == 0 || len(ids) != 2 {
		t.Errorf("files per distribution %v", ids)
	}

	t.Run("same parameters reuse the corpus", func(t *testing.T) {
		again, err := WriteCorpus(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Reused {
			t.Error("corpus regenerated")
		}
		if diff := cmp.Diff(c.Names, again.Names); diff != "" {
			t.Errorf("names (-first +second):\n%s", diff)
		}
	})
	t.Run("same parameters elsewhere give the same bytes", func(t *testing.T) {
		other := t.TempDir()
		if _, err := WriteCorpus(ctx, other, opts); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(files, readCorpusDir(t, other)); diff != "" {
			t.Errorf("corpora differ (-first +second):\n%.2000s", diff)
		}
	})
	t.Run("a missing file regenerates", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, c.Names[3])); err != nil {
			t.Fatal(err)
		}
		again, err := WriteCorpus(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if again.Reused {
			t.Error("incomplete corpus reused")
		}
		if diff := cmp.Diff(files, readCorpusDir(t, dir)); diff != "" {
			t.Errorf("regenerated corpus differs:\n%.2000s", diff)
		}
	})
	t.Run("other parameters replace the corpus", func(t *testing.T) {
		opts2 := opts
		opts2.Files = 9
		c2, err := WriteCorpus(ctx, dir, opts2)
		if err != nil {
			t.Fatal(err)
		}
		got := readCorpusDir(t, dir)
		var names []string
		for n := range got {
			names = append(names, n)
		}
		slices.Sort(names)
		want := slices.Clone(c2.Names)
		slices.Sort(want)
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("files on disk (-new corpus +disk):\n%s", diff)
		}
	})
}

// BenchmarkWriteCorpus measures corpus generation: records per second,
// with gzip, on all cores.
func BenchmarkWriteCorpus(b *testing.B) {
	lines, files := int64(200_000), 40
	if testing.Short() {
		lines, files = 20_000, 8
	}
	ctx := context.Background()
	var size int64
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(b.TempDir(), "c")
		c, err := WriteCorpus(ctx, dir, CorpusOptions{Lines: lines, Files: files, Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		size = c.Bytes
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(size)/float64(lines), "gz-bytes/line")
}

// BenchmarkGenerate measures the scenario generator on one core.
func BenchmarkGenerate(b *testing.B) {
	ctx := context.Background()
	var records int64
	for b.Loop() {
		fs := newMemFS()
		scale := 0.5
		if testing.Short() {
			scale = 0.05
		}
		tr, err := Generate(ctx, DefaultScenario(scale), Output{Create: fs.create})
		if err != nil {
			b.Fatal(err)
		}
		records = tr.Records
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestWriteCorpusRealistic checks the cardinality of a realistic corpus:
// probes for unique paths at the share asked for, a long tail of other
// paths, query strings and cookies; and that it is deterministic.
func TestWriteCorpusRealistic(t *testing.T) {
	ctx := context.Background()
	opts := CorpusOptions{Lines: 20_000, Files: 7, Seed: 3, Realistic: true, ProbeShare: DefaultProbeShare}
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		if _, err := WriteCorpus(ctx, d, opts); err != nil {
			t.Fatal(err)
		}
	}
	a, b := readCorpusDir(t, dirs[0]), readCorpusDir(t, dirs[1])
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatal("two corpora of the same options differ")
	}
	stems := map[string]int{}
	var lines, probes, queries, cookies int
	for name, data := range a {
		for _, line := range gunzipLines(t, name, data) {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Split(line, "\t")
			if len(f) < NumFields {
				t.Fatalf("%s: %d fields in %q", name, len(f), line)
			}
			lines++
			stems[f[7]]++
			for _, p := range probePrefixes {
				if strings.HasPrefix(f[7], p) {
					probes++
				}
			}
			if f[11] != "-" {
				queries++
			}
			if f[12] != "-" {
				cookies++
			}
		}
	}
	if lines != int(opts.Lines) {
		t.Fatalf("%d lines, want %d", lines, opts.Lines)
	}
	share := float64(probes) / float64(lines)
	if share < 0.27 || share > 0.33 {
		t.Errorf("probe share %.3f, want about %.2f", share, opts.ProbeShare)
	}
	if len(stems) < probes*9/10+1000 {
		t.Errorf("%d distinct stems for %d probes: want the probes nearly all distinct and a long tail of pages", len(stems), probes)
	}
	if q, c := float64(queries)/float64(lines), float64(cookies)/float64(lines); q < 0.3 || c < 0.5 {
		t.Errorf("query strings on %.2f and cookies on %.2f of the lines, want about 0.4 and 0.67", q, c)
	}
}
