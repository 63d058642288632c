package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/schema"
)

type analyzeOptions struct {
	src      sourceOptions
	dataset  string
	timeline string
	// windowsFromCloudTrail are CloudTrail sources to derive the timeline
	// from, instead of a timeline file.
	windowsFromCloudTrail []string
	settle                time.Duration
	timezone              string
	bucket                time.Duration
	errorPath             string
	format                string
	out                   string
	every                 time.Duration
	maxRejectRate         float64
	verbose               bool
	// engine counts the tallies: local (this process) or athena.
	engine string
	athena athenaEngineOptions
}

func newAnalyzeCmd() *cobra.Command {
	o := &analyzeOptions{}
	cmd := &cobra.Command{
		Use:   "analyze [SRC…] --timeline FILE [--production ID|SRC] [--staging ID|SRC] [--dataset DIR|s3://…]",
		Short: "Correlate 500s with configuration windows and hour of day",
		Long: `Read the access logs of a production distribution and its staging
distribution (local files, folders, globs, s3://bucket/prefix/ URLs, or a
Parquet dataset written by 'cflens ingest --out' given with --dataset), cut
the time range into windows of constant configuration from the --timeline
file, and report per window and role the share of HTTP 500 among requests
for error paths (paths that never got a 2xx or 3xx, or --error-path), with
95% intervals, tests of association, hour-of-day and peak-hour views, a
time series and ranked findings.

Exit status: 0 complete, 3 incomplete (objects that could not be read, or
rejected lines over --max-reject-rate; the analysis is still written),
2 usage error, 1 other errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.src.sources = args
			if o.every != 0 {
				return runAnalyzeEvery(cmd.Context(), o, cmd.ErrOrStderr())
			}
			return runAnalyze(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	// The shared source flags, with their --format (of the logs) renamed
	// --log-format: here --format is that of the analysis.
	srcFlags := pflag.NewFlagSet("sources", pflag.ContinueOnError)
	bindSourceFlags(srcFlags, &o.src)
	fs := cmd.Flags()
	srcFlags.VisitAll(func(f *pflag.Flag) {
		if f.Name == "format" {
			f = &pflag.Flag{Name: "log-format", Usage: f.Usage, Value: f.Value, DefValue: f.DefValue}
		}
		fs.AddFlag(f)
	})
	def := analyze.DefaultOptions()
	fs.StringVar(&o.dataset, "dataset", "", "read the Parquet dataset in this folder or s3://bucket/prefix/ instead of logs")
	fs.StringVar(&o.timeline, "timeline", "", "YAML file of configuration changes (see README)")
	fs.StringArrayVar(&o.windowsFromCloudTrail, "windows-from-cloudtrail", nil, "derive the timeline from CloudTrail files instead (folder, glob, s3://bucket/AWSLogs/ACCOUNT/CloudTrail/us-east-1/); repeatable")
	fs.DurationVar(&o.settle, "settle", 0, "leave out requests this long after each change (e.g. 2m)")
	fs.StringVar(&o.timezone, "timezone", "UTC", "time zone of hour of day and day of week (e.g. Europe/Paris)")
	fs.DurationVar(&o.bucket, "bucket", def.Bucket, "width of the time series buckets")
	fs.StringVar(&o.errorPath, "error-path", "", "regular expression on cs-uri-stem marking error paths (default: paths never answered 2xx or 3xx)")
	fs.StringVar(&o.format, "format", "", "output format: text, markdown, csv, json or html (default from --out, else text)")
	fs.StringVarP(&o.out, "out", "o", "", "write the analysis to this file (a folder for csv or --every) instead of stdout")
	fs.DurationVar(&o.every, "every", 0, "write one report per period of this length (e.g. 24h) of --from/--to into the folder --out, with index.html and index.md")
	fs.Float64Var(&o.maxRejectRate, "max-reject-rate", 0.001, "share of rejected lines above which the run is incomplete (exit 3)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log retries and failures as they happen")
	fs.StringVar(&o.engine, "engine", "local", "where the rows are counted: local, or athena (the dataset's Athena table; see 'cflens athena')")
	bindAthenaEngineFlags(fs, &o.athena)
	return cmd
}

// analyzeSettings turns the flags other than the sources into analysis
// options.
func analyzeSettings(o *analyzeOptions) (analyze.Options, error) {
	opts := analyze.DefaultOptions()
	if _, err := reportFormat(o.format, o.out); err != nil {
		return opts, err
	}
	if o.timeline != "" && len(o.windowsFromCloudTrail) > 0 {
		return opts, usage.Errorf("", "give --timeline or --windows-from-cloudtrail, not both")
	}
	if o.timeline != "" {
		f, err := os.Open(o.timeline)
		if err != nil {
			return opts, fmt.Errorf("read timeline: %w", err)
		}
		tl, err := analyze.ReadTimeline(f, o.timeline)
		f.Close()
		if err != nil {
			var te *analyze.TimelineError
			if errors.As(err, &te) {
				return opts, usage.Errorf("see the README for the timeline format", "%w", err)
			}
			return opts, err
		}
		opts.Timeline = tl
	}
	loc, err := time.LoadLocation(o.timezone)
	if err != nil {
		return opts, usage.Errorf("time zones are IANA names such as UTC or Europe/Paris", "--timezone: %v", err)
	}
	opts.Location = loc
	if o.settle < 0 {
		return opts, usage.Errorf("", "--settle %s is negative", o.settle)
	}
	opts.Settle = o.settle
	if o.bucket <= 0 || o.bucket%time.Millisecond != 0 {
		return opts, usage.Errorf("buckets look like 5m or 1h", "--bucket %s: want a positive whole number of milliseconds", o.bucket)
	}
	opts.Bucket = o.bucket
	if o.errorPath != "" {
		re, err := regexp.Compile(o.errorPath)
		if err != nil {
			return opts, usage.Errorf("", "--error-path: %v", err)
		}
		opts.ErrorPath = re
	}
	if opts.From, err = parseTimeFlag(o.src.from); err != nil {
		return opts, usage.Errorf("times look like 2025-09-10 or 2025-09-10T08:00:00Z", "--from: %v", err)
	}
	if opts.To, err = parseTimeFlag(o.src.to); err != nil {
		return opts, usage.Errorf("times look like 2025-09-10 or 2025-09-10T08:00:00Z", "--to: %v", err)
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && !opts.From.Before(opts.To) {
		return opts, usage.Errorf("", "--from %s is not before --to %s", o.src.from, o.src.to)
	}
	return opts, nil
}

// setRoles gives the analysis the distribution IDs of each role.
func setRoles(opts *analyze.Options, roles map[string]string) {
	if len(roles) == 0 {
		return
	}
	opts.Roles = roles
	var prod, stg []string
	for id, role := range roles {
		switch role {
		case schema.RoleProduction:
			prod = append(prod, id)
		case schema.RoleStaging:
			stg = append(stg, id)
		}
	}
	sort.Strings(prod)
	sort.Strings(stg)
	if len(prod) > 0 {
		opts.Production = strings.Join(prod, ",")
	}
	if len(stg) > 0 {
		opts.Staging = strings.Join(stg, ",")
	}
}

func runAnalyze(ctx context.Context, o *analyzeOptions, stdout, stderr io.Writer) error {
	res, runErr := analyzeResult(ctx, o, stderr)
	if res == nil {
		return runErr
	}
	if err := writeReport(ctx, res, o.format, o.out, stdout); err != nil {
		return err
	}
	return runErr
}

// analyzeResult runs the analysis of o. With an ingest.ErrIncomplete
// error it still returns the result.
func analyzeResult(ctx context.Context, o *analyzeOptions, stderr io.Writer) (*analyze.Result, error) {
	opts, err := analyzeSettings(o)
	if err != nil {
		return nil, err
	}
	logger := newLogger(stderr, o.verbose)
	opts.Logger = logger
	if o.engine != "local" {
		return analyzeOnEngine(ctx, o, opts, stderr)
	}

	var (
		agg      *analyze.Aggregator
		runErr   error
		trailErr error // an incomplete CloudTrail read: the run ends incomplete
		sum      *ingest.Summary
	)
	if o.dataset != "" {
		if len(o.src.sources) > 0 {
			return nil, usage.Errorf("read either logs or a dataset", "--dataset cannot be combined with log sources")
		}
		roles, err := datasetRoles(o)
		if err != nil {
			return nil, err
		}
		setRoles(&opts, roles)
		if trailErr, err = trailTimeline(ctx, o, &opts, roles, stderr); err != nil {
			return nil, err
		}
		if agg, err = analyze.NewAggregator(opts); err != nil {
			return nil, err
		}
		runErr = analyzeDataset(ctx, o, opts, agg)
	} else {
		rs, err := resolveSources(ctx, &o.src)
		if err != nil {
			return nil, err
		}
		setRoles(&opts, rs.roles)
		if trailErr, err = trailTimeline(ctx, o, &opts, rs.roles, stderr); err != nil {
			return nil, err
		}
		if agg, err = analyze.NewAggregator(opts); err != nil {
			return nil, err
		}
		iopts := ingest.DefaultOptions()
		iopts.Workers = o.src.workers
		iopts.From, iopts.To = opts.From, opts.To
		iopts.Roles = rs.roles
		iopts.MaxRejectRate = o.maxRejectRate
		iopts.Logger = logger
		bar := newProgress(stderr, "analyze")
		iopts.Progress = bar.update
		start := time.Now()
		sum, runErr = ingest.Run(ctx, iopts, rs.sources, agg)
		bar.finish()
		if sum != nil && (o.verbose || !sum.Complete) {
			writeSummaryText(stderr, sum, time.Since(start))
		}
	}
	defer agg.Release() // the spilled path counts
	if runErr != nil && !errors.Is(runErr, ingest.ErrIncomplete) {
		return nil, runErr
	}
	res := agg.Result()
	if runErr == nil && trailErr != nil {
		res.Warnings = append(res.Warnings, "the CloudTrail record could not be read whole: "+trailErr.Error())
		runErr = trailErr
	}
	if sum != nil {
		res.Input.RejectedLines = sum.RejectedLines
		if !sum.Complete {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the run was incomplete: %d objects could not be read", len(sum.Failed)))
		}
	}
	return res, runErr
}

// datasetRoles maps the distribution IDs of --production and --staging
// to their roles, for a dataset.
func datasetRoles(o *analyzeOptions) (map[string]string, error) {
	roles := map[string]string{}
	for role, vals := range map[string][]string{schema.RoleProduction: o.src.production, schema.RoleStaging: o.src.staging} {
		for _, v := range vals {
			if !distributionIDPattern.MatchString(v) {
				return nil, usage.Errorf("with --dataset, --production and --staging take distribution IDs", "%q is not a distribution ID", v)
			}
			roles[v] = role
		}
	}
	return roles, nil
}

// analyzeDataset feeds the rows of a Parquet dataset to the aggregator.
func analyzeDataset(ctx context.Context, o *analyzeOptions, opts analyze.Options, agg *analyze.Aggregator) error {
	st, err := openDatasetStore(ctx, o.dataset, o.src.aws)
	if err != nil {
		return err
	}
	workers := o.src.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := readDatasetSlices(ctx, st, opts.From, opts.To, agg.Columns(), workers, agg); err != nil {
		return fmt.Errorf("read dataset %s: %w", o.dataset, err)
	}
	return nil
}

// readDatasetSlices reads the dataset into sink in up to n time slices at
// once. Data files are hour partitions, so slices cut on whole hours
// split the files without filtering rows; each slice is balanced by
// file size.
func readDatasetSlices(ctx context.Context, st dataset.Store, from, to time.Time, cols []int, n int, sink ingest.Sink) error {
	files, err := dataset.Files(ctx, st, dataset.ReadOptions{From: from, To: to})
	if err != nil {
		return err
	}
	sizes := map[time.Time]int64{}
	var total int64
	for _, f := range files {
		sizes[f.Partition.Hour] += max(f.Size, 1)
		total += max(f.Size, 1)
	}
	hours := make([]time.Time, 0, len(sizes))
	for h := range sizes {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i].Before(hours[j]) })
	n = max(1, min(n, runtime.GOMAXPROCS(0)))
	bounds := []time.Time{from}
	var acc int64
	for _, h := range hours {
		if len(bounds) < n && acc > 0 && acc >= total*int64(len(bounds))/int64(n) && h.After(from) {
			bounds = append(bounds, h)
		}
		acc += sizes[h]
	}
	bounds = append(bounds, to)
	g, ctx := errgroup.WithContext(ctx)
	for i := 0; i+1 < len(bounds); i++ {
		ro := dataset.ReadOptions{From: bounds[i], To: bounds[i+1], Columns: cols, DictStrings: true}
		g.Go(func() error {
			_, err := dataset.Read(ctx, st, ro, sink)
			return err
		})
	}
	return g.Wait()
}

// trailTimeline derives the timeline from CloudTrail when
// --windows-from-cloudtrail is given. An incomplete read is returned as
// incomplete (the timeline is used, and the run ends incomplete); other
// errors as err.
func trailTimeline(ctx context.Context, o *analyzeOptions, opts *analyze.Options, roles map[string]string, stderr io.Writer) (incomplete, err error) {
	if len(o.windowsFromCloudTrail) == 0 {
		return nil, nil
	}
	tl, err := timelineFromCloudTrail(ctx, o.windowsFromCloudTrail, o.src.aws, roles, time.Time{}, opts.To, stderr)
	if err != nil && !errors.Is(err, ingest.ErrIncomplete) {
		return nil, err
	}
	opts.Timeline = tl
	return err, nil
}
