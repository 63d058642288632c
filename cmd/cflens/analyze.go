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

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/redact"
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
	// detected, set for the second pass of an analysis without a
	// timeline, are the changes found in the first (windows_detect.go).
	detected *analyze.Timeline
	// twoPasses, set by tests, reads the input again under the detected
	// windows instead of cutting the rows counted in the first pass.
	twoPasses bool
	// compareDetected sets the changes of the timeline (or CloudTrail)
	// beside those detected in the logs; compareTolerance is how far a
	// detected change may lie from a recorded one it explains.
	compareDetected  bool
	compareTolerance time.Duration
	// engine counts the tallies: local (this process) or athena.
	engine string
	athena athenaEngineOptions
}

func newAnalyzeCmd(d *deps) *cobra.Command {
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
time series and ranked findings. Without --timeline or
--windows-from-cloudtrail, the windows are cut at the changes detected in
the logs themselves (see 'cflens windows detect'), their states unknown.

Exit status: 0 complete, 3 incomplete (objects that could not be read, or
rejected lines over --max-reject-rate; the analysis is still written),
2 usage error, 1 other errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.src.sources = args
			return runAnalyze(cmd.Context(), o, d.streams(cmd))
		},
	}
	// The shared source flags, with their --format (of the logs) renamed
	// --log-format: here --format is that of the analysis.
	srcFlags := pflag.NewFlagSet("sources", pflag.ContinueOnError)
	bindSourceFlags(srcFlags, &o.src)
	d.aws(&o.src.aws)
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
	bindCompareFlags(fs, o)
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
	if o.detected != nil {
		opts.Timeline = o.detected
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
	if opts.From, err = timeFlag("from", o.src.from); err != nil {
		return opts, err
	}
	if opts.To, err = timeFlag("to", o.src.to); err != nil {
		return opts, err
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

func runAnalyze(ctx context.Context, o *analyzeOptions, s *IOStreams) error {
	if o.every != 0 {
		return runAnalyzeEvery(ctx, o, s.Err)
	}
	res, runErr := analyzeResult(ctx, o, s.Err)
	if res == nil {
		return runErr
	}
	if err := writeReport(ctx, res, o.format, o.out, s.Out); err != nil {
		return err
	}
	return runErr
}

// analyzeOnce runs one pass of the analysis of o (analyzeResult chooses
// the windows). With an ingest.ErrIncomplete error it still returns the
// result.
func analyzeOnce(ctx context.Context, o *analyzeOptions, stderr io.Writer) (*analyze.Result, error) {
	res, _, err := analyzePass(ctx, o, stderr, false)
	return res, err
}

// counted is what a pass of the local engine counted, kept to cut the
// same rows into other windows (analyze.Aggregator.ResultFor).
type counted struct {
	agg      *analyze.Aggregator
	sum      *ingest.Summary
	trailErr error
}

// resultFor computes the analysis of the counted rows under the windows
// of tl; the caller still has to release c.agg.
func (c *counted) resultFor(tl *analyze.Timeline) (*analyze.Result, error) {
	res, err := c.agg.ResultFor(tl)
	if err != nil {
		return nil, err
	}
	c.complete(res)
	return res, nil
}

// complete adds to a result what the pass knows besides the tallies.
func (c *counted) complete(res *analyze.Result) {
	if c.trailErr != nil {
		res.Warnings = append(res.Warnings, "the CloudTrail record could not be read whole: "+redact.Error(c.trailErr))
	}
	res.AddIngest(c.sum)
}

// analyzePass runs one pass of the analysis of o. With keep, and when
// the local engine counts the rows, it counts the cells by time bucket
// too and returns what it counted, which the caller releases
// (c.agg.Release); otherwise c is nil.
func analyzePass(ctx context.Context, o *analyzeOptions, stderr io.Writer, keep bool) (_ *analyze.Result, c *counted, _ error) {
	opts, err := analyzeSettings(o)
	if err != nil {
		return nil, nil, err
	}
	logger := newLogger(stderr, o.verbose)
	opts.Logger = logger
	if o.engine != "" && o.engine != "local" {
		res, err := analyzeOnEngine(ctx, o, opts, stderr)
		return res, nil, err
	}
	opts.BucketCells = keep

	var (
		agg      *analyze.Aggregator
		runErr   error
		trailErr error // an incomplete CloudTrail read: the run ends incomplete
		sum      *ingest.Summary
	)
	if o.dataset != "" {
		if len(o.src.sources) > 0 {
			return nil, nil, usage.Errorf("read either logs or a dataset", "--dataset cannot be combined with log sources")
		}
		roles, err := datasetRoles(o)
		if err != nil {
			return nil, nil, err
		}
		setRoles(&opts, roles)
		if trailErr, err = trailTimeline(ctx, o, &opts, roles, stderr); err != nil {
			return nil, nil, err
		}
		if agg, err = analyze.NewAggregator(opts); err != nil {
			return nil, nil, err
		}
		runErr = analyzeDataset(ctx, o, opts, agg)
	} else {
		o.src.log = logger
		rs, err := resolveSources(ctx, &o.src)
		if err != nil {
			return nil, nil, err
		}
		setRoles(&opts, rs.roles)
		if trailErr, err = trailTimeline(ctx, o, &opts, rs.roles, stderr); err != nil {
			return nil, nil, err
		}
		if agg, err = analyze.NewAggregator(opts); err != nil {
			return nil, nil, err
		}
		iopts := ingest.DefaultOptions()
		iopts.Workers = o.src.workers
		iopts.From, iopts.To = opts.From, opts.To
		iopts.Roles = rs.roles
		rs.setParse(&iopts)
		iopts.MaxRejectRate = o.maxRejectRate
		iopts.Logger = logger
		bar := newProgress(stderr, "analyze")
		iopts.Progress = bar.update
		start := time.Now()
		sum, runErr = ingest.Run(ctx, iopts, rs.sources, agg)
		bar.finish()
		if sum != nil {
			redactSummary(sum)
		}
		if sum != nil && (o.verbose || !sum.Complete) {
			writeSummaryText(stderr, sum, time.Since(start))
		}
	}
	kept := false
	defer func() {
		if !kept {
			agg.Release() // the spilled path counts
		}
	}()
	if runErr != nil && !errors.Is(runErr, ingest.ErrIncomplete) {
		return nil, nil, runErr
	}
	res := agg.Result()
	if runErr != nil {
		trailErr = nil // the run is incomplete already
	}
	c = &counted{agg: agg, sum: sum, trailErr: trailErr}
	c.complete(res)
	if runErr == nil {
		runErr = trailErr
	}
	if res.Input.Analyzed == 0 {
		named := res.Distributions.Production != "" || res.Distributions.Staging != "" || len(opts.Roles) > 0 || len(o.src.production)+len(o.src.staging) > 0 || o.src.configFile != ""
		msg := analyze.NoRows(res, agg.UnknownDistributions(), named)
		if !named {
			return nil, nil, usage.Errorf("give --production and --staging (distribution IDs or sources)", "%s", msg)
		}
		return nil, nil, fmt.Errorf("%s: %w", msg, ingest.ErrIncomplete)
	}
	if !keep {
		return res, nil, runErr
	}
	kept = true
	return res, c, runErr
}

// datasetRoles maps the distribution IDs of --production and --staging
// to their roles, for a dataset.
func datasetRoles(o *analyzeOptions) (map[string]string, error) {
	roles := map[string]string{}
	for role, vals := range map[string][]string{schema.RoleProduction: o.src.production, schema.RoleStaging: o.src.staging} {
		for _, v := range vals {
			if !schema.IsDistributionID(v) {
				return nil, usage.Errorf("with --dataset, --production and --staging take distribution IDs", "%q is not a distribution ID", v)
			}
			roles[v] = role
		}
	}
	return roles, nil
}

// analyzeDataset feeds the rows of a Parquet dataset to the aggregator.
func analyzeDataset(ctx context.Context, o *analyzeOptions, opts analyze.Options, agg *analyze.Aggregator) error {
	st, err := openDatasetToRead(ctx, o.dataset, o.src.aws)
	if err != nil {
		return err
	}
	workers := o.src.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ro := dataset.ReadOptions{From: opts.From, To: opts.To, Columns: agg.Columns(), DictStrings: true}
	if _, err := dataset.ReadParallel(ctx, st, ro, workers, agg); err != nil {
		return fmt.Errorf("read dataset %s: %w", o.dataset, err)
	}
	return nil
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
