package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/logparse"
	"github.com/cflens/cflens/ingest/schema"
)

// Options configure a run.
type Options struct {
	// Workers is the number of objects read at once (0: DefaultWorkers
	// of the sources).
	Workers int
	// From and To bound the records taken by their own timestamps
	// (zero: unbounded).
	From, To time.Time
	// Attempts is how many times an object is read before it is given up
	// (default 4). A read that fails midway is discarded whole, so a
	// retried object is never counted twice.
	Attempts int
	// ObjectTimeout bounds one attempt at one object (default 15 minutes).
	ObjectTimeout time.Duration
	// MaxObjectBytes caps the decompressed size of one object.
	MaxObjectBytes int64
	// MaxRejectRate is the share of rejected lines above which the run
	// is incomplete (default 0.001; negative: no limit).
	MaxRejectRate float64
	BatchRows     int
	Delimiter     byte
	// Format is the format of the objects (default logparse.FormatAuto:
	// detected per object, so legacy and v2 files can be mixed).
	Format logparse.Format
	// Roles maps distribution IDs to roles, for objects whose source
	// did not set one.
	Roles     map[string]string
	Allocator memory.Allocator
	Logger    *slog.Logger
	// Progress, when set, is called as objects complete and bytes arrive;
	// it must be safe for concurrent use.
	Progress func(Progress)
	// Backoff is the pause before the second attempt at an object; it
	// doubles per attempt up to 5 s (default 200 ms).
	Backoff time.Duration
}

// DefaultOptions returns the defaults of a run.
func DefaultOptions() Options {
	return Options{
		Attempts:       4,
		ObjectTimeout:  15 * time.Minute,
		MaxObjectBytes: logparse.DefaultMaxBytes,
		MaxRejectRate:  0.001,
		BatchRows:      logparse.DefaultBatchRows,
		Backoff:        200 * time.Millisecond,
	}
}

// Progress is a snapshot of a run's progress.
type Progress struct {
	Listed, Done, Failed, Skipped int64 // objects
	Bytes                         int64 // raw bytes fetched
	Rows                          int64
	Listing                       bool // still listing
}

// retryable tells whether reading an object of src again may succeed.
// A local file reads the same bytes every time, so one cut short (a
// truncated .gz) is cut short on every read; a body fetched over the
// network may have been cut by the connection.
func retryable(src Source, err error) bool {
	if l, ok := src.(Local); ok && l.Local() && errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	return !errors.Is(err, logparse.ErrTooLarge) &&
		!errors.Is(err, logparse.ErrCorrupt) &&
		!errors.Is(err, fs.ErrNotExist) &&
		!errors.Is(err, fs.ErrPermission) &&
		!errors.Is(err, ErrChanged) &&
		!errors.Is(err, context.Canceled) &&
		!errors.As(err, new(sinkError))
}

// sinkError marks an error of the sink's Begin or Commit: the sink cannot
// take the object (a dataset writer whose checkpoint failed refuses every
// later object), so reading it again cannot help.
type sinkError struct{ err error }

func (e sinkError) Error() string { return e.err.Error() }
func (e sinkError) Unwrap() error { return e.err }

type objectResult struct {
	ref   ObjectRef
	stats logparse.Stats
	err   error
	tries int
}

// fill gives every unset option its default.
func (o *Options) fill(sources []Source) {
	def := DefaultOptions()
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers(sources)
	}
	if o.Attempts <= 0 {
		o.Attempts = def.Attempts
	}
	if o.ObjectTimeout <= 0 {
		o.ObjectTimeout = def.ObjectTimeout
	}
	if o.BatchRows <= 0 {
		o.BatchRows = def.BatchRows
	}
	if o.Backoff <= 0 {
		o.Backoff = def.Backoff
	}
	if o.MaxRejectRate == 0 {
		o.MaxRejectRate = def.MaxRejectRate
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run reads every object the sources list through the parser into sink.
// Objects are read concurrently; an object whose read fails midway is
// aborted in the sink and read again, up to opts.Attempts times. It
// returns the summary of what was taken, and an error wrapping
// ErrIncomplete when objects failed, rejected lines passed the allowed
// rate, or the run was interrupted.
func Run(ctx context.Context, opts Options, sources []Source, sink Sink) (*Summary, error) {
	opts.fill(sources)
	var columns []int
	if p, ok := sink.(Projector); ok {
		columns = p.Columns()
	}
	manifest, _ := sink.(Manifest)

	var prog progressCounter
	// The objects' sizes so far size the first batch of the next ones.
	var hint logparse.SizeHint
	prog.fn = opts.Progress
	prog.listing.Store(true)

	refs := make(chan sourcedRef, opts.Workers)
	results := make(chan objectResult, opts.Workers)
	var listErrs []FailedObject

	gctx := ctx
	var lister sync.WaitGroup
	lister.Add(1)
	go func() {
		defer lister.Done()
		defer close(refs)
		defer prog.doneListing()
		seen := map[string]bool{}
		for _, src := range sources {
			for ref, err := range src.List(gctx, opts.From, opts.To) {
				if err != nil {
					if gctx.Err() != nil {
						return
					}
					// Report it and take what the source still yields: a
					// source ends its listing after an error it cannot
					// go past.
					listErrs = append(listErrs, FailedObject{Object: src.String(), Error: listPrefix + err.Error()})
					continue
				}
				if ref.Source == "" {
					ref.Source = src.String()
				}
				id := ref.Source + "\x00" + ref.Key
				if seen[id] {
					continue
				}
				seen[id] = true
				if ref.DistributionID != "" && !schema.IsDistributionID(ref.DistributionID) {
					// A name that is not an ID (escape sequences in a v2
					// folder name, say) fails its object, by name.
					results <- objectResult{ref: ref, err: fmt.Errorf("%w %q in the object's name", ErrBadDistributionID, ref.DistributionID)}
					continue
				}
				if ref.Role == "" {
					ref.Role = opts.Roles[ref.DistributionID]
				}
				if manifest != nil && manifest.Has(ref) {
					prog.add(&prog.skipped, 1)
					results <- objectResult{ref: ref, err: errSkipped}
					continue
				}
				prog.add(&prog.listed, 1)
				select {
				case refs <- withSource(ref, src):
				case <-gctx.Done():
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range refs {
				// The loop below drains results until all workers are done.
				results <- readObject(gctx, opts, ref.src, ref.ObjectRef, columns, sink, &prog, &hint)
			}
		}()
	}
	go func() {
		wg.Wait()
		lister.Wait()
		close(results)
	}()

	sum := &Summary{
		RejectedByReason: map[string]*RejectReason{},
		UnknownFields:    map[string]int64{},
		Distributions:    map[string]*Counts{},
		Failed:           []FailedObject{},
	}
	var read []objectResult
	for res := range results {
		switch {
		case errors.Is(res.err, errSkipped):
			sum.Skipped++
			continue
		case res.err != nil:
			if ctx.Err() != nil && errors.Is(res.err, context.Canceled) {
				continue // interrupted, not failed
			}
			sum.Failed = append(sum.Failed, FailedObject{Object: res.ref.Source + res.ref.Key, Attempts: res.tries, Error: res.err.Error()})
			opts.Logger.Warn("object failed", "object", res.ref.Source+res.ref.Key, "attempts", res.tries, "error", res.err)
			continue
		}
		read = append(read, res)
	}

	closeErr := sink.Close(context.WithoutCancel(ctx))
	if manifest != nil {
		// The sink commits objects later than their Commit (the dataset
		// writes them in checkpoints): count only what it holds now, so
		// that the summary equals what was written whatever stopped the
		// run, and name the others as failed.
		read = keepWritten(sum, read, manifest, closeErr, opts.Logger)
	}
	var samples []RejectSample
	var sampleReasons []string
	for _, res := range read {
		sum.Retries += int64(res.tries - 1)
		st := res.stats
		c := Counts{Objects: 1, Bytes: st.Bytes, Lines: st.Lines, HeaderLines: st.HeaderLines,
			Rows: st.Rows, RejectedLines: st.Rejected, OutOfRange: st.OutOfRange}
		sum.Add(c)
		id := res.ref.DistributionID
		if sum.Distributions[id] == nil {
			sum.Distributions[id] = &Counts{}
		}
		sum.Distributions[id].Add(c)
		for reason, n := range st.RejectedBy {
			rr := sum.RejectedByReason[reason]
			if rr == nil {
				rr = &RejectReason{Samples: []RejectSample{}}
				sum.RejectedByReason[reason] = rr
			}
			rr.Count += n
		}
		for _, s := range st.Samples {
			samples = append(samples, RejectSample{Object: res.ref.Source + res.ref.Key, Line: s.Line, Field: s.Field, Detail: s.Detail, Text: s.Text})
			sampleReasons = append(sampleReasons, s.Reason)
		}
		for _, f := range slices.Sorted(maps.Keys(st.UnknownFields)) {
			if _, ok := sum.UnknownFields[f]; ok || len(sum.UnknownFields) < logparse.MaxUnknownFields {
				sum.UnknownFields[f] += st.UnknownFields[f]
			} else {
				sum.UnknownFieldsOmitted += st.UnknownFields[f]
			}
		}
		sum.UnknownFieldsOmitted += st.UnknownFieldsOmitted
	}
	sum.Failed = append(sum.Failed, listErrs...)
	keepSamples(sum, samples, sampleReasons)
	sort.Slice(sum.Failed, func(i, j int) bool { return sum.Failed[i].Object < sum.Failed[j].Object })

	var problems []string
	if ctx.Err() != nil {
		problems = append(problems, "interrupted")
	}
	if p := sum.Problems(); p != "" {
		problems = append(problems, p)
	}
	if opts.MaxRejectRate >= 0 && sum.Lines > 0 {
		if rate := float64(sum.RejectedLines) / float64(sum.Lines); rate > opts.MaxRejectRate {
			problems = append(problems, fmt.Sprintf("%.3f%% of lines rejected, over the %.3f%% allowed", 100*rate, 100*opts.MaxRejectRate))
		}
	}
	sum.Complete = len(problems) == 0 && closeErr == nil
	switch {
	case closeErr != nil && len(problems) > 0:
		return sum, fmt.Errorf("%w: %s; close sink: %w", ErrIncomplete, strings.Join(problems, "; "), closeErr)
	case closeErr != nil:
		return sum, fmt.Errorf("%w: close sink: %w", ErrIncomplete, closeErr)
	case !sum.Complete:
		return sum, fmt.Errorf("%w: %s", ErrIncomplete, strings.Join(problems, "; "))
	}
	return sum, nil
}

// keepWritten returns the results whose objects the sink holds after
// Close, and adds the others to sum.Failed: their Commit succeeded but
// their rows were never written (a checkpoint failed, the disk filled).
func keepWritten(sum *Summary, read []objectResult, manifest Manifest, closeErr error, logger *slog.Logger) []objectResult {
	why := "rows not written to the dataset"
	if closeErr != nil {
		why += ": " + closeErr.Error()
	}
	kept := read[:0]
	for _, res := range read {
		if manifest.Has(res.ref) {
			kept = append(kept, res)
			continue
		}
		sum.Failed = append(sum.Failed, FailedObject{Object: res.ref.Source + res.ref.Key, Attempts: res.tries, Error: why})
		logger.Warn("object failed", "object", res.ref.Source+res.ref.Key, "error", why)
	}
	return kept
}

var errSkipped = errors.New("already ingested")

type sourcedRef struct {
	ObjectRef
	src Source
}

func withSource(ref ObjectRef, src Source) sourcedRef { return sourcedRef{ref, src} }

// keepSamples keeps the first samples of each reason in a stable order:
// one per object first, so that every object with rejects of a reason is
// named while there is room, then further ones.
func keepSamples(sum *Summary, samples []RejectSample, reasons []string) {
	idx := make([]int, len(samples))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		sa, sb := samples[idx[a]], samples[idx[b]]
		if sa.Object != sb.Object {
			return sa.Object < sb.Object
		}
		return sa.Line < sb.Line
	})
	rank := make(map[int]int, len(idx)) // sample → its place among its object's samples of its reason
	seen := map[[2]string]int{}
	for _, i := range idx {
		k := [2]string{reasons[i], samples[i].Object}
		rank[i] = seen[k]
		seen[k]++
	}
	sort.SliceStable(idx, func(a, b int) bool { return rank[idx[a]] < rank[idx[b]] })
	for _, i := range idx {
		rr := sum.RejectedByReason[reasons[i]]
		if len(rr.Samples) < samplesPerReason {
			rr.Samples = append(rr.Samples, samples[i])
		}
	}
	for _, rr := range sum.RejectedByReason {
		sort.Slice(rr.Samples, func(a, b int) bool {
			if rr.Samples[a].Object != rr.Samples[b].Object {
				return rr.Samples[a].Object < rr.Samples[b].Object
			}
			return rr.Samples[a].Line < rr.Samples[b].Line
		})
	}
}

// samplesPerReason is how many rejected lines a summary shows per reason.
const samplesPerReason = 10

// readObject reads one object into the sink, retrying a failed read.
func readObject(ctx context.Context, opts Options, src Source, ref ObjectRef, columns []int, sink Sink, prog *progressCounter, hint *logparse.SizeHint) objectResult {
	if a, ok := sink.(Admitter); ok {
		release, err := a.Admit(ctx, ref)
		if err != nil {
			return objectResult{ref: ref, err: err} // the run was stopped
		}
		defer release()
	}
	backoff := opts.Backoff
	var err error
	for try := 1; ; try++ {
		var st logparse.Stats
		st, err = readOnce(ctx, opts, src, ref, columns, sink, prog, hint)
		if err == nil {
			prog.add(&prog.done, 1)
			prog.add(&prog.rows, st.Rows)
			return objectResult{ref: ref, stats: st, tries: try}
		}
		if try >= opts.Attempts || !retryable(src, err) || ctx.Err() != nil {
			prog.add(&prog.failed, 1)
			return objectResult{ref: ref, err: err, tries: try}
		}
		opts.Logger.Info("retrying object", "object", ref.Source+ref.Key, "attempt", try+1, "error", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return objectResult{ref: ref, err: ctx.Err(), tries: try}
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func readOnce(ctx context.Context, opts Options, src Source, ref ObjectRef, columns []int, sink Sink, prog *progressCounter, hint *logparse.SizeHint) (logparse.Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.ObjectTimeout)
	defer cancel()
	body, err := src.Open(ctx, ref)
	if err != nil {
		return logparse.Stats{}, fmt.Errorf("open %s: %w", ref.Key, err)
	}
	defer body.Close()
	ropts := []logparse.Option{
		logparse.WithSource(ref.Key),
		logparse.WithDistribution(ref.DistributionID, ref.Role),
		logparse.WithBatchRows(opts.BatchRows),
		logparse.WithAllocator(opts.Allocator),
		logparse.WithTimeRange(opts.From, opts.To),
		logparse.WithDelimiter(opts.Delimiter),
		logparse.WithMaxBytes(opts.MaxObjectBytes),
		logparse.WithSizeHint(hint, ref.Size),
	}
	if columns != nil {
		ropts = append(ropts, logparse.WithColumns(columns))
	}
	// Open tells gzip, JSON lines, W3C and Parquet apart (Parquet is
	// copied to a temporary file, as it needs random access).
	r, err := logparse.Open(&countingReader{r: body, prog: prog}, opts.Format, ropts...)
	if err != nil {
		return logparse.Stats{}, fmt.Errorf("read %s: %w", ref.Key, err)
	}
	defer r.Release()
	osink, err := sink.Begin(ctx, ref)
	if err != nil {
		return logparse.Stats{}, fmt.Errorf("begin %s: %w", ref.Key, sinkError{err})
	}
	for r.Next() {
		if err := osink.Write(r.Batch()); err != nil {
			osink.Abort()
			return logparse.Stats{}, fmt.Errorf("write %s: %w", ref.Key, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := r.Err(); err != nil {
		osink.Abort()
		return logparse.Stats{}, fmt.Errorf("read %s line %d: %w", ref.Key, r.Stats().Lines+1, err)
	}
	if err := ctx.Err(); err != nil {
		osink.Abort()
		return logparse.Stats{}, fmt.Errorf("read %s: %w", ref.Key, err)
	}
	if err := osink.Commit(); err != nil {
		if ctx.Err() == nil {
			err = sinkError{err}
		}
		return logparse.Stats{}, fmt.Errorf("commit %s: %w", ref.Key, err)
	}
	return r.Stats(), nil
}

type countingReader struct {
	r    io.Reader
	prog *progressCounter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.prog.add(&c.prog.bytes, int64(n))
	}
	return n, err
}

type progressCounter struct {
	fn                                  func(Progress)
	listed, done, failed, skipped, rows atomic.Int64
	bytes                               atomic.Int64
	listing                             atomic.Bool
	last                                atomic.Int64 // unix nanos of the last report
}

func (p *progressCounter) add(c *atomic.Int64, n int64) {
	c.Add(n)
	if p.fn == nil {
		return
	}
	// Bytes arrive in small reads: report at most every 100 ms for them.
	now := time.Now().UnixNano()
	if c == &p.bytes {
		last := p.last.Load()
		if now-last < int64(100*time.Millisecond) || !p.last.CompareAndSwap(last, now) {
			return
		}
	}
	p.report()
}

func (p *progressCounter) doneListing() {
	p.listing.Store(false)
	if p.fn != nil {
		p.report()
	}
}

func (p *progressCounter) report() {
	p.fn(Progress{
		Listed: p.listed.Load(), Done: p.done.Load(), Failed: p.failed.Load(), Skipped: p.skipped.Load(),
		Bytes: p.bytes.Load(), Rows: p.rows.Load(), Listing: p.listing.Load(),
	})
}
