package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/analyze/cloudtrail"
	"github.com/cflens/cflens/cmd/internal/atomicfile"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/s3source"
	"github.com/cflens/cflens/ingest/schema"
)

type windowsCloudTrailOptions struct {
	specs         []string
	production    string
	staging       string
	distributions []string
	from, to      string
	out           string
	workers       int
	verbose       bool
	current       bool
	aws           awsOptions
	// cloudFront stands in for the CloudFront API in tests; nil means
	// the real one.
	cloudFront cloudFrontAPI
}

func newWindowsCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "windows",
		Short: "Build configuration timelines for 'cflens analyze --timeline'",
	}
	cmd.AddCommand(newWindowsFromCloudTrailCmd(d))
	cmd.AddCommand(newWindowsDetectCmd(d))
	return cmd
}

func newWindowsFromCloudTrailCmd(d *deps) *cobra.Command {
	o := &windowsCloudTrailOptions{}
	cmd := &cobra.Command{
		Use:   "from-cloudtrail SRC… [--production ID] [--staging ID] [--distribution ID…] [--from T] [--to T] [--out FILE]",
		Short: "Build the configuration timeline from the CloudTrail record of CloudFront API calls",
		Long: `Read CloudTrail log files (local files, folders, globs, or
s3://bucket/AWSLogs/<account>/CloudTrail/us-east-1/ — CloudFront is a global
service and its events are recorded in us-east-1), keep the calls that
changed the given distributions and their continuous deployment policy
(CreateDistribution, UpdateDistribution, CopyDistribution,
Create/UpdateContinuousDeploymentPolicy, UpdateDistributionWithStagingConfig),
and write the timeline of custom error responses, policy settings and
promotions as the YAML that 'cflens analyze --timeline' reads.

Give the distributions with --production and --staging, or give one of them
(the other is found through a copy or a promotion), or give IDs with
--distribution and let the record tell their roles. Failed calls are skipped
and listed on stderr with a short report.

Exit status: 0 complete, 3 incomplete (files that could not be read; the
timeline is still written), 2 usage error, 1 other errors.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usage.Errorf("give the CloudTrail files as arguments: folders, globs, or s3://bucket/AWSLogs/<account>/CloudTrail/us-east-1/", "no CloudTrail source given")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.specs = args
			return runWindowsFromCloudTrail(cmd.Context(), o, d.streams(cmd))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.production, "production", "", "production distribution ID")
	fs.StringVar(&o.staging, "staging", "", "staging distribution ID")
	fs.StringArrayVar(&o.distributions, "distribution", nil, "distribution ID whose role the record tells; repeatable")
	fs.StringVar(&o.from, "from", "", "first event time taken (RFC 3339, or YYYY-MM-DD[THH[:MM]], UTC); settings not changed after it are unknown")
	fs.StringVar(&o.to, "to", "", "event time to stop before (same forms as --from)")
	fs.StringVarP(&o.out, "out", "o", "", "write the timeline to this file instead of stdout")
	fs.IntVar(&o.workers, "workers", cloudtrail.DefaultOptions().Workers, "files read at once")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log files that cannot be read as they happen")
	fs.BoolVar(&o.current, "current", false, "also read today's configuration with the CloudFront API (needs credentials): settings the record never changed get their current value, and differences are reported")
	bindAWSFlags(fs, &o.aws)
	d.aws(&o.aws)
	return cmd
}

func runWindowsFromCloudTrail(ctx context.Context, o *windowsCloudTrailOptions, s *IOStreams) error {
	stdout, stderr := s.Out, s.Err
	opts := cloudtrail.DefaultOptions()
	for _, id := range append([]string{o.production, o.staging}, o.distributions...) {
		if id != "" && !schema.IsDistributionID(id) {
			return usage.Errorf("distribution IDs look like E1A2B3C4D5E6F7", "%q is not a distribution ID", id)
		}
	}
	if o.production == "" && o.staging == "" && len(o.distributions) == 0 {
		return usage.Errorf("give --production ID and --staging ID, or --distribution ID", "no distribution given")
	}
	if o.production != "" && o.production == o.staging {
		return usage.Errorf("", "distribution %s is given as both production and staging", o.production)
	}
	opts.Production, opts.Staging, opts.Distributions = o.production, o.staging, o.distributions
	var err error
	if opts.From, err = timeFlag("from", o.from); err != nil {
		return err
	}
	if opts.To, err = timeFlag("to", o.to); err != nil {
		return err
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && !opts.From.Before(opts.To) {
		return usage.Errorf("", "--from %s is not before --to %s", o.from, o.to)
	}
	if o.workers <= 0 {
		return usage.Errorf("", "--workers must be positive")
	}
	if o.current && !opts.To.IsZero() {
		return usage.Errorf("the current configuration anchors a record read up to now", "--current cannot be combined with --to")
	}
	opts.Workers = o.workers
	opts.Logger = newLogger(stderr, o.verbose)
	srcs, err := openCloudTrailSources(ctx, o.specs, o.aws)
	if err != nil {
		return err
	}
	tl, rep, runErr := cloudtrail.Read(ctx, srcs, opts)
	if tl != nil {
		rep.WriteText(stderr, terminalText)
	}
	if runErr != nil && !errors.Is(runErr, ingest.ErrIncomplete) {
		if errors.Is(runErr, cloudtrail.ErrRole) {
			return usage.Errorf("give the roles with --production and --staging", "%w", runErr)
		}
		return runErr
	}
	if o.current {
		if err := anchorCurrent(ctx, o, tl, rep, opts.From, s.Now(), stderr); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := tl.WriteYAML(&buf); err != nil {
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

// anchorCurrent completes the timeline with the configuration the
// CloudFront API returns now.
func anchorCurrent(ctx context.Context, o *windowsCloudTrailOptions, tl *analyze.Timeline, rep *cloudtrail.Report, from, now time.Time, stderr io.Writer) error {
	api := o.cloudFront
	if api == nil {
		c, err := newCloudFrontClient(ctx, o.aws)
		if err != nil {
			return err
		}
		api = c
	}
	cur, err := readCurrent(ctx, api, rep.Production, rep.Staging, now)
	if err != nil {
		return err
	}
	for _, w := range cloudtrail.Anchor(tl, cur, from) {
		fmt.Fprintf(stderr, "  warning: %s\n", w)
	}
	if err := tl.Validate(); err != nil {
		return fmt.Errorf("anchor timeline: %w", err)
	}
	return nil
}

// openCloudTrailSources opens the CloudTrail files of each spec: a local
// file, folder or glob (as for logs), or an s3:// prefix.
func openCloudTrailSources(ctx context.Context, specs []string, a awsOptions) ([]ingest.Source, error) {
	var srcs []ingest.Source
	for _, spec := range specs {
		if !strings.HasPrefix(spec, "s3://") {
			src, err := openSource(ctx, spec, &sourceOptions{aws: a}, nil)
			if err != nil {
				return nil, err
			}
			srcs = append(srcs, src)
			continue
		}
		loc, err := s3source.ParseURL(spec)
		if err != nil {
			return nil, usage.Errorf("a CloudTrail prefix looks like s3://bucket/AWSLogs/<account>/CloudTrail/us-east-1/", "%w", err)
		}
		client, err := a.s3Client(ctx)
		if err != nil {
			return nil, err
		}
		sopts := s3source.DefaultOptions()
		// CloudTrail keys name neither a distribution nor an hour, which
		// the source's built-in layouts look for: a template of one free
		// variable matches every key below the prefix, and the cloudtrail
		// package picks the log files by name.
		sopts.Templates = []string{"{key}"}
		src, err := s3source.New(client, loc, sopts)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", spec, err)
		}
		srcs = append(srcs, src)
	}
	return srcs, nil
}

// timelineFromCloudTrail builds the timeline of the distributions in roles
// (ID → role, as resolveSources returns them) from the CloudTrail files of
// specs, writing the short report to stderr. Events from from on are
// taken (zero: all, which gives the analyzer the state before its range).
// A run with unreadable files returns the timeline and an error wrapping
// ingest.ErrIncomplete.
func timelineFromCloudTrail(ctx context.Context, specs []string, a awsOptions, roles map[string]string, from, to time.Time, stderr io.Writer) (*analyze.Timeline, error) {
	opts := cloudtrail.DefaultOptions()
	opts.From, opts.To = from, to
	for _, id := range sortedKeys(roles) {
		var slot *string
		switch roles[id] {
		case schema.RoleProduction:
			slot = &opts.Production
		case schema.RoleStaging:
			slot = &opts.Staging
		default:
			opts.Distributions = append(opts.Distributions, id)
			continue
		}
		if *slot != "" {
			return nil, usage.Errorf("", "--windows-from-cloudtrail follows one %s distribution, not %s and %s", roles[id], *slot, id)
		}
		*slot = id
	}
	if opts.Production == "" && opts.Staging == "" && len(opts.Distributions) == 0 {
		return nil, usage.Errorf("give the distribution IDs with --production and --staging", "--windows-from-cloudtrail needs distribution IDs")
	}
	srcs, err := openCloudTrailSources(ctx, specs, a)
	if err != nil {
		return nil, err
	}
	tl, rep, err := cloudtrail.Read(ctx, srcs, opts)
	if tl != nil {
		rep.WriteText(stderr, terminalText)
	}
	if err != nil && !errors.Is(err, ingest.ErrIncomplete) {
		if errors.Is(err, cloudtrail.ErrRole) {
			return nil, usage.Errorf("give the roles with --production and --staging", "%w", err)
		}
		return nil, err
	}
	return tl, err
}
