package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/atomicfile"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
)

type windowsDetectOptions struct {
	// a holds the source, role and analysis flags shared with analyze.
	a       analyzeOptions
	out     string
	penalty float64
}

func newWindowsDetectCmd(d *deps) *cobra.Command {
	o := &windowsDetectOptions{}
	cmd := &cobra.Command{
		Use:   "detect [SRC…] [--production ID|SRC] [--staging ID|SRC] [--dataset DIR|s3://…] [--out FILE]",
		Short: "Find in the logs when behaviour changed, and propose a timeline",
		Long: `Read the logs (as 'cflens analyze' does: files, folders, globs, s3://
URLs, or a dataset with --dataset), count per time bucket each role's
error-path requests and their 500s and both roles' requests, and find the
instants at which the 500 share of a role or staging's share of requests
changed: binomial likelihood, exact segmentation (PELT) with a penalty per
change, overdispersion estimated from the data, and an interval for each
change time. Peak hours, in which CloudFront sends staging (almost) nothing
for a few hours and then resumes, are recognised and left out, not
reported as changes.

The output is a timeline in the format of 'cflens analyze --timeline':
each change is marked "detected: true" and sets nothing (detection tells
that behaviour changed, not which setting), with comments giving the
roles it affects, the rates before and after with 95% intervals, and the
interval of its time. With --compare-detected and a --timeline or
--windows-from-cloudtrail, comments at the head set the recorded changes
beside the detected ones.

Exit status: 0 complete, 3 incomplete (objects that could not be read;
the timeline is still written), 2 usage error, 1 other errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.a.src.sources = args
			return runWindowsDetect(cmd.Context(), o, d.streams(cmd))
		},
	}
	srcFlags := pflag.NewFlagSet("sources", pflag.ContinueOnError)
	bindSourceFlags(srcFlags, &o.a.src)
	fs := cmd.Flags()
	srcFlags.VisitAll(func(f *pflag.Flag) {
		if f.Name == "format" {
			f = &pflag.Flag{Name: "log-format", Usage: f.Usage, Value: f.Value, DefValue: f.DefValue}
		}
		fs.AddFlag(f)
	})
	def := analyze.DefaultOptions()
	fs.StringVar(&o.a.dataset, "dataset", "", "read the Parquet dataset in this folder or s3://bucket/prefix/ instead of logs")
	fs.DurationVar(&o.a.bucket, "bucket", def.Bucket, "width of the time buckets the changes are placed on")
	fs.StringVar(&o.a.errorPath, "error-path", "", "regular expression on cs-uri-stem marking error paths (default: paths never answered 2xx or 3xx)")
	fs.StringVar(&o.a.timezone, "timezone", "UTC", "time zone in which peak hours are described")
	fs.Float64Var(&o.a.maxRejectRate, "max-reject-rate", 0.001, "share of rejected lines above which the run is incomplete (exit 3)")
	fs.BoolVarP(&o.a.verbose, "verbose", "v", false, "log retries and failures as they happen")
	fs.StringVar(&o.a.timeline, "timeline", "", "with --compare-detected: the recorded timeline (YAML file)")
	fs.StringArrayVar(&o.a.windowsFromCloudTrail, "windows-from-cloudtrail", nil, "with --compare-detected: derive the recorded timeline from CloudTrail files; repeatable")
	fs.StringVarP(&o.out, "out", "o", "", "write the timeline to this file instead of stdout")
	fs.Float64Var(&o.penalty, "penalty", 0, "cost of one change as a multiple of ln(buckets) (default 3; higher finds fewer changes)")
	bindCompareFlags(fs, &o.a)
	return cmd
}

// bindCompareFlags binds --compare-detected and --compare-tolerance.
func bindCompareFlags(fs *pflag.FlagSet, o *analyzeOptions) {
	fs.BoolVar(&o.compareDetected, "compare-detected", false, "set the changes of --timeline or --windows-from-cloudtrail beside those detected in the logs, with their lags")
	fs.DurationVar(&o.compareTolerance, "compare-tolerance", 30*time.Minute, "with --compare-detected: how far a detected change may lie from a recorded one it explains")
}

// checkCompare refuses --compare-detected without a recorded timeline,
// and a negative tolerance.
func checkCompare(o *analyzeOptions) error {
	recorded := o.timeline != "" || len(o.windowsFromCloudTrail) > 0
	if o.compareDetected && !recorded {
		return usage.Errorf("give --compare-detected together with --timeline FILE or --windows-from-cloudtrail SRC", "--compare-detected needs a recorded timeline to compare with")
	}
	if o.compareTolerance < 0 {
		return usage.Errorf("", "--compare-tolerance %s is negative", o.compareTolerance)
	}
	return nil
}

func runWindowsDetect(ctx context.Context, o *windowsDetectOptions, s *IOStreams) error {
	stdout, stderr := s.Out, s.Err
	recorded := o.a.timeline != "" || len(o.a.windowsFromCloudTrail) > 0
	if recorded && !o.a.compareDetected {
		return usage.Errorf("give --compare-detected together with --timeline FILE or --windows-from-cloudtrail SRC", "a recorded timeline is only read for --compare-detected")
	}
	if err := checkCompare(&o.a); err != nil {
		return err
	}
	if o.penalty < 0 {
		return usage.Errorf("", "--penalty %g is negative", o.penalty)
	}
	// One pass: the series do not depend on the windows (no settle
	// margin is applied), so a recorded timeline serves the comparison.
	res, runErr := analyzeOnce(ctx, &o.a, stderr)
	if res == nil {
		return runErr
	}
	d, err := detectWindows(res, o.penalty)
	if err != nil {
		return err
	}
	var head []string
	if o.a.compareDetected {
		head = analyze.CompareDetected(res, d, o.a.compareTolerance).Lines()
	}
	var buf bytes.Buffer
	if err := d.WriteYAML(&buf, res.Distributions, head); err != nil {
		return err
	}
	if o.out != "" {
		if err := atomicfile.Write(o.out, buf.Bytes()); err != nil {
			return err
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write timeline: %w", err)
	}
	return runErr
}

// detectWindows runs the detection on a result's series.
func detectWindows(res *analyze.Result, penalty float64) (*analyze.Detection, error) {
	opts := analyze.DefaultDetectOptions()
	opts.Segmentation.PenaltyFactor = penalty
	if loc, err := time.LoadLocation(res.Timezone); err == nil {
		opts.Location = loc
	}
	return analyze.Detect(res, opts)
}

// analyzeResult runs the analysis of o with the windows of its timeline
// or CloudTrail. With neither, the changes detected in the time series
// of a first pass cut the windows, and the result says so: the local
// engine cuts the rows it counted into them (analyze.Aggregator.
// ResultFor), a second pass reads them again where it cannot (settle
// margins, another engine).
func analyzeResult(ctx context.Context, o *analyzeOptions, stderr io.Writer) (*analyze.Result, error) {
	if err := checkCompare(o); err != nil {
		return nil, err
	}
	if o.timeline != "" || len(o.windowsFromCloudTrail) > 0 || o.detected != nil {
		res, err := analyzeOnce(ctx, o, stderr)
		if res == nil || o.detected != nil {
			return res, err
		}
		res.WindowsSource = "timeline"
		if len(o.windowsFromCloudTrail) > 0 {
			res.WindowsSource = "cloudtrail"
		}
		if o.compareDetected {
			if derr := compareDetected(res, o); derr != nil {
				return nil, derr
			}
		}
		return res, err
	}
	first, c, err := analyzePass(ctx, o, stderr, !o.twoPasses)
	if c != nil {
		defer c.agg.Release()
	}
	if first == nil {
		return nil, err
	}
	if err != nil && !errors.Is(err, ingest.ErrIncomplete) {
		return nil, err
	}
	d, derr := detectWindows(first, 0)
	if derr != nil {
		return nil, derr
	}
	if len(d.Changes) == 0 {
		// No change: the detected timeline is the single window of
		// unknown state the first pass already used.
		analyze.MarkDetected(first, d)
		return first, err
	}
	detected := d.Timeline(analyze.Distributions{})
	if c != nil {
		res, cerr := c.resultFor(detected)
		if cerr == nil {
			analyze.MarkDetected(res, d)
			return res, err
		}
		if !errors.Is(cerr, analyze.ErrRecut) {
			return nil, cerr
		}
		newLogger(stderr, o.verbose).Info("reading the input again under the detected windows", "why", cerr.Error())
	}
	second := *o
	second.detected = detected
	res, err := analyzeOnce(ctx, &second, stderr)
	if res != nil {
		analyze.MarkDetected(res, d)
	}
	return res, err
}

// compareDetected runs the detection on the series of res, which the
// windows do not change, and sets its changes beside the recorded ones.
func compareDetected(res *analyze.Result, o *analyzeOptions) error {
	d, err := detectWindows(res, 0)
	if err != nil {
		return err
	}
	res.CompareDetected = analyze.CompareDetected(res, d, o.compareTolerance).Report()
	if o.settle > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the changes were detected on series that leave out the %s settle margin after each recorded change, so a lag is at least that margin", o.settle))
	}
	return nil
}
