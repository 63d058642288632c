package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/cmd/internal/hugeheap"
	"github.com/cflens/cflens/ingest/inflate"
)

// ceilingOptions are those of the hidden ceiling-worker subcommand.
type ceilingOptions struct {
	workers int
	// decoder is the gzip decoder: decoderKlauspost (the ceiling) or
	// decoderCflens (ingest/inflate, cflens's own: the least any
	// analysis from .gz by cflens can take).
	decoder string
	files   []string
}

// The decoders of ceiling-worker --decoder.
const (
	decoderKlauspost = "klauspost"
	decoderCflens    = "cflens"
)

// adviseHugePages advises huge pages for the heap of a ceiling worker as
// cflens does for its own under its default soft memory limit of 300 MiB
// (cmd/internal/hugeheap), so that a ceiling runs with the memory cflens
// gets.
func adviseHugePages() { hugeheap.Advise(300 << 20) }

// workerCounts is what a worker prints on stdout for the runner to check.
type workerCounts struct {
	// Lines are newline-terminated lines read, headers included (for
	// benchworker duckdb: rows grouped or copied).
	Lines int64 `json:"lines"`
	// Version is DuckDB's (benchworker duckdb --query version).
	Version string `json:"version,omitempty"`
	// Bytes are inflated bytes.
	Bytes int64 `json:"bytes,omitempty"`
}

func newCeilingCmd() *cobra.Command {
	o := &ceilingOptions{}
	cmd := &cobra.Command{
		Use:    "ceiling-worker FILE…",
		Short:  "Inflate .gz files on all cores and count lines (the ceiling of any analysis from .gz)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.files = args
			adviseHugePages()
			c, err := runCeiling(cmd.Context(), o)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(c)
		},
	}
	cmd.Flags().IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "files inflated at once")
	cmd.Flags().StringVar(&o.decoder, "decoder", decoderKlauspost, "gzip decoder: klauspost or cflens (ingest/inflate)")
	return cmd
}

// runCeiling inflates every file with the chosen decoder (klauspost/compress
// by default), one goroutine per worker pulling files, and counts
// newlines: nothing is parsed, so no analysis straight from .gz that uses
// that decoder can be faster on the same cores.
func runCeiling(ctx context.Context, o *ceilingOptions) (workerCounts, error) {
	open, err := gzipOpener(o.decoder)
	if err != nil {
		return workerCounts{}, err
	}
	var lines, inflated atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, o.workers))
	for _, name := range o.files {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			n, b, err := inflateCount(gctx, name, open)
			lines.Add(n)
			inflated.Add(b)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return workerCounts{}, err
	}
	if err := ctx.Err(); err != nil {
		return workerCounts{}, err
	}
	return workerCounts{Lines: lines.Load(), Bytes: inflated.Load()}, nil
}

// gzipOpener returns the function that opens a gzip stream with the
// named decoder.
func gzipOpener(decoder string) (func(io.Reader) (io.Reader, error), error) {
	switch decoder {
	case "", decoderKlauspost:
		return func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }, nil
	case decoderCflens:
		return func(r io.Reader) (io.Reader, error) { return inflate.NewReader(r) }, nil
	}
	return nil, fmt.Errorf("unknown decoder %q (want %s or %s)", decoder, decoderKlauspost, decoderCflens)
}

// inflateCount inflates one file (all its gzip members) with the decoder
// open returns and counts its newlines and bytes.
func inflateCount(ctx context.Context, name string, open func(io.Reader) (io.Reader, error)) (lines, n int64, err error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, fmt.Errorf("inflate: %w", err)
	}
	defer f.Close()
	zr, err := open(f)
	if err != nil {
		return 0, 0, fmt.Errorf("inflate %s: %w", name, err)
	}
	buf := make([]byte, 256<<10)
	for {
		k, err := zr.Read(buf)
		lines += int64(bytes.Count(buf[:k], []byte{'\n'}))
		n += int64(k)
		if err == io.EOF {
			return lines, n, nil
		}
		if err != nil {
			return lines, n, fmt.Errorf("inflate %s: %w", name, err)
		}
		if ctx.Err() != nil {
			return lines, n, ctx.Err()
		}
	}
}
