// Command cflens analyzes Amazon CloudFront standard access logs: it ingests
// the logs of a production and a staging distribution into a Parquet
// dataset, correlates result types and status codes with configuration
// windows and hour of day, and writes reports.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/cflens/cflens/cmd/internal/hugeheap"
	"github.com/cflens/cflens/cmd/internal/redact"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
)

// Exit codes.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitIncomplete = 3
	// exitBusy: another run holds the dataset's lease; try again later.
	exitBusy = 4
)

// defaultMemoryLimit is the soft limit of the Go heap when GOMEMLIMIT is
// not set: the garbage collector works harder near it instead of letting
// the heap grow with the input. It is soft: a run that needs more still
// gets it.
const defaultMemoryLimit = 300 << 20

// ingestGCPercent is the garbage collector's target of an ingest when
// GOGC is not set. An ingest's live heap is a few batches, which the
// default of 100 collects over and over while batches come and go; a
// larger target lets the heap grow to tens of MiB, and the memory limit
// above still bounds it. An analysis keeps the default of 100: its stem
// table is most of its heap, and on the realistic corpus it takes 4%
// (from .gz) to 9% (from Parquet) less CPU at 100 than at 400, with 20–25
// MiB less (README, "Performance").
const ingestGCPercent = 400

// setIngestGC sets the garbage collector's target of an ingest.
func setIngestGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(ingestGCPercent)
	}
}

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if hugePagesFor(os.Args[1:]) {
		adviseHugePages()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startCPUProfile(os.Getenv("CFLENS_CPUPROFILE"))
	code := run(ctx, os.Args[1:])
	stopProfile()
	writeAllocProfile(os.Getenv("CFLENS_MEMPROFILE"))
	os.Exit(code)
}

// maxHugeRegion bounds the heap advised for huge pages when the memory
// limit is higher (or off).
const maxHugeRegion = 1 << 30

// hugePagesFor tells whether the command of args gains from a heap in
// huge pages: every command but ingest. An ingest of a million lines
// took 7% less CPU time with them, of 10 million the same, of 50
// million 6–10% more (README, "Profiles and settings"); a month of logs
// is the larger size.
func hugePagesFor(args []string) bool {
	c, _, err := newRootCmd().Find(args)
	return err == nil && c.Name() != "ingest"
}

// adviseHugePages advises transparent huge pages for the heap up to the
// soft memory limit (cmd/internal/hugeheap): on the realistic corpus an
// analysis from Parquet takes about 40% less CPU time, from .gz 9% less,
// at the same peak RSS (README, "Performance"). GODEBUG=disablethp=1
// turns it off. It is advice: a failure costs only the speed, and is
// not reported.
func adviseHugePages() {
	hugeheap.Advise(int(min(debug.SetMemoryLimit(-1), maxHugeRegion)))
}

// startCPUProfile writes a CPU profile of the whole run to path, when it
// is set (CFLENS_CPUPROFILE; README, "Performance"), and returns what
// ends it.
func startCPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cflens: cpu profile:", err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "cflens: cpu profile:", err)
		}
	}
}

// writeAllocProfile writes a memory profile of the run to path, when it
// is set (CFLENS_MEMPROFILE; README, "Performance"): every allocation
// sampled, for `go tool pprof -sample_index=alloc_space`. The profile
// holds what was allocated up to the last completed collection, so one
// runs first: without it, a run whose heap stays below the collector's
// target after its last collection loses the allocations made since.
func writeAllocProfile(path string) {
	if path == "" {
		return
	}
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cflens: memory profile:", err)
	}
}

func run(ctx context.Context, args []string) int {
	// One private folder holds the run's temporary files; the standard
	// library's temporary files go there through TMPDIR.
	if tmp, cleanup, err := newRunTempDir(os.TempDir()); err == nil {
		os.Setenv("TMPDIR", tmp)
		defer cleanup()
	}
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "cflens:", redact.Error(err))
	var uerr *usage.Error
	switch {
	case errors.As(err, &uerr):
		if uerr.Hint != "" {
			fmt.Fprintln(os.Stderr, redact.String(uerr.Hint))
		}
		return exitUsage
	case errors.Is(err, ingest.ErrIncomplete):
		return exitIncomplete
	case errors.Is(err, dataset.ErrBusy):
		return exitBusy
	default:
		return exitError
	}
}
