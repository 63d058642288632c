// Command cflensbench is the benchmark suite of cflens. It generates (or
// reuses) a corpus of CloudFront-like legacy .gz log files for two
// distributions and times, in one run, interleaved and repeated, each tool
// as a child process over the same files: the decompression ceiling,
// cflens analysis straight from .gz, cflens ingest to zstd Parquet, the
// read of that dataset with nothing aggregated (its ceiling), cflens
// analysis from the Parquet dataset, DuckDB's read_csv + GROUP BY and
// COPY … TO parquet, and GoAccess. It reports medians, min–max, lines/s,
// MB/s, peak RSS and the ratios the project targets, as Markdown and JSON.
//
// It is a separate program from cflens. DuckDB (cgo) and the corpus
// generator live in a program of their own, benchworker
// (cmd/cflensbench/benchworker), so that DuckDB enters neither cflens nor
// this runner, and this runner stays small: on Linux its children inherit
// its peak RSS in their ru_maxrss. The ceilings run as this program's
// hidden ceiling-worker and parquet-ceiling-worker subcommands, and every measured process starts
// under its hidden spawn subcommand, which records the process's own peak
// RSS and CPU time.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cflens/cflens/cmd/internal/usage"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "cflensbench:", err)
	var uerr *usage.Error
	if errors.As(err, &uerr) {
		if uerr.Hint != "" {
			fmt.Fprintln(os.Stderr, uerr.Hint)
		}
		return exitUsage
	}
	return exitError
}

func newRootCmd() *cobra.Command {
	root := newBenchCmd()
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.SetFlagErrorFunc(usage.FlagError)
	root.AddCommand(newCeilingCmd())
	root.AddCommand(newParquetCeilingCmd())
	root.AddCommand(newSpawnCmd())
	return root
}
