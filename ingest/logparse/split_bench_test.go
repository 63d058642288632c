package logparse

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cflens/cflens/ingest/inflate"
	"github.com/cflens/cflens/ingest/loggen"
)

// realisticLines returns the records of a small corpus with the
// cardinality of real traffic (long user agents and cookies).
func realisticLines(b *testing.B, n int64) [][]byte {
	b.Helper()
	dir := b.TempDir()
	c, err := loggen.WriteCorpus(context.Background(), dir, loggen.CorpusOptions{Lines: n, Files: 1, Seed: 1, Realistic: true, ProbeShare: 0.3})
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for _, name := range c.Names {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		rc, err := inflate.Decompress(f, 0)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if l := sc.Bytes(); len(l) > 0 && l[0] != '#' {
				lines = append(lines, append([]byte(nil), l...))
			}
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
		rc.Close()
		f.Close()
	}
	return lines
}

// BenchmarkSplitLine splits the lines of a realistic corpus with each
// implementation built on this platform.
func BenchmarkSplitLine(b *testing.B) {
	lines := realisticLines(b, 50_000)
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	for _, sp := range splitters {
		b.Run(sp.name, func(b *testing.B) {
			var pos []int
			b.SetBytes(size)
			for b.Loop() {
				for _, l := range lines {
					pos, _ = sp.split(l, '\t', pos[:0])
				}
			}
		})
	}
}
