package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/atomicfile"
	"github.com/cflens/cflens/cmd/internal/demo"
	"github.com/cflens/cflens/cmd/internal/usage"
)

type demoOptions struct {
	out   string
	seed  uint64
	scale string
}

func newDemoCmd(d *deps) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [--out DIR] [--seed N] [--scale small|default|large]",
		Short: "Run the whole pipeline on generated logs, with no AWS account",
		Long: `Generate five days of access logs for a production distribution and its
continuous-deployment staging distribution that reproduce a known case
(HTTP 500s from custom error responses under a 15% weighted policy, with
peak hours in which CloudFront sends no traffic to staging), serve them
from an S3 endpoint inside this process on 127.0.0.1, ingest them through
the S3 code path into a Parquet dataset, analyze it, write every report
format, and compare what was measured with what was generated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), o, d.streams(cmd))
		},
	}
	cmd.Flags().StringVarP(&o.out, "out", "o", "cflens-demo", "folder for the dataset and the reports")
	cmd.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the generated logs")
	cmd.Flags().StringVar(&o.scale, "scale", "default", "size of the generated logs: small (~60k lines), default (~240k) or large (~2.4M)")
	return cmd
}

var demoScales = map[string]float64{"small": 0.25, "default": 1, "large": 10}

const demoBucket = "cflens-demo-logs"

func runDemo(ctx context.Context, o *demoOptions, s *IOStreams) error {
	scale, ok := demoScales[o.scale]
	if !ok {
		return usage.Errorf("scales are small, default and large", "unknown scale %q", o.scale)
	}
	stdout, stderr := s.Out, s.Err
	start := s.Now()
	step := func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%5.1fs] %s\n", s.Now().Sub(start).Seconds(), fmt.Sprintf(format, args...))
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	datasetDir := filepath.Join(o.out, "dataset")
	// A rerun starts from nothing, so the figures are those of this seed.
	if err := os.RemoveAll(datasetDir); err != nil {
		return err
	}

	// An S3 endpoint inside this process, on loopback.
	srv, endpoint, err := demo.StartS3(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()
	client := demo.Client(endpoint)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(demoBucket)}); err != nil {
		return fmt.Errorf("create demo bucket: %w", err)
	}
	step("S3 endpoint on %s, bucket %s", endpoint, demoBucket)

	logs, err := demo.Upload(ctx, client, demoBucket, "cloudfront/", scale, o.seed)
	if err != nil {
		return err
	}
	truth, prod, stg := logs.Truth, logs.Production, logs.Staging
	step("generated %d log lines in %d objects for %s (production) and %s (staging)", truth.Records, len(truth.Files), prod, stg)
	timelineFile := filepath.Join(o.out, "timeline.yaml")
	if err := atomicfile.Write(timelineFile, logs.Timeline); err != nil {
		return err
	}

	// The other commands run as a user would type them, with the demo's
	// S3 client in place of one from the AWS configuration.
	cflens := func(args ...string) error {
		root := newRootCmdWith(&deps{now: s.Now, s3: client})
		root.SetArgs(args)
		root.SetIn(s.In)
		root.SetOut(stdout)
		root.SetErr(stderr)
		return root.ExecuteContext(ctx)
	}
	step("ingesting s3://%s/cloudfront/ into %s", demoBucket, datasetDir)
	if err := cflens("ingest", "s3://"+demoBucket+"/cloudfront/", "--production", prod, "--staging", stg, "--workers", "8",
		"--out", datasetDir, "--summary", filepath.Join(o.out, "ingest-summary.json")); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}

	step("analyzing the dataset")
	analysis := filepath.Join(o.out, "analysis.json")
	if err := cflens("analyze", "--dataset", datasetDir, "--production", prod, "--staging", stg, "--workers", "2",
		"--timeline", timelineFile, "--format", "json", "--out", analysis); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	reports := []struct{ format, path string }{
		{"html", filepath.Join(o.out, "report.html")},
		{"markdown", filepath.Join(o.out, "report.md")},
		{"json", analysis},
		{"text", filepath.Join(o.out, "report.txt")},
		{"csv", filepath.Join(o.out, "csv")},
	}
	for _, r := range reports {
		if r.format == "json" {
			continue // written by analyze
		}
		if err := cflens("report", "--in", analysis, "--format", r.format, "--out", r.path); err != nil {
			return fmt.Errorf("write %s report: %w", r.format, err)
		}
	}
	step("reports written")

	fmt.Fprintln(stdout)
	if err := cflens("report", "--in", analysis); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	f, err := os.Open(analysis)
	if err != nil {
		return err
	}
	res, err := analyze.ReadJSON(f)
	f.Close()
	if err != nil {
		return err
	}
	checks := demo.Compare(res, truth)
	demo.PrintComparison(stdout, checks)
	fmt.Fprintf(stdout, "\nFiles in %s:\n", o.out)
	for _, r := range reports {
		fmt.Fprintf(stdout, "  %-9s %s\n", r.format, r.path)
	}
	fmt.Fprintf(stdout, "  %-9s %s\n  %-9s %s\n", "dataset", datasetDir, "timeline", timelineFile)
	fmt.Fprintf(stdout, `
Next steps with real logs:
  cflens ingest --production s3://YOUR-LOG-BUCKET/cf/ --staging s3://YOUR-LOG-BUCKET/cf-staging/ \
      --from 2025-09-10 --to 2025-09-17 --out s3://YOUR-LAKE/cloudfront/
  cflens windows from-cloudtrail s3://YOUR-TRAIL-BUCKET/AWSLogs/ACCOUNT/CloudTrail/us-east-1/ \
      --production E1YOURPROD --staging E2YOURSTAGING > timeline.yaml
  cflens analyze --dataset s3://YOUR-LAKE/cloudfront/ --production E1YOURPROD --staging E2YOURSTAGING \
      --timeline timeline.yaml --format html --out report.html
  cflens athena ddl --location s3://YOUR-LAKE/cloudfront/ --distribution E1YOURPROD --distribution E2YOURSTAGING
`)
	step("done")
	if !demo.Agree(checks) {
		return fmt.Errorf("measured rates or counts disagree with the generated ones (see the table above)")
	}
	return nil
}
