package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/spf13/cobra"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/analyze/report"
	"github.com/cflens/cflens/cmd/internal/atomicfile"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/schema"
)

type demoOptions struct {
	out   string
	seed  uint64
	scale string
}

func newDemoCmd() *cobra.Command {
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
			return runDemo(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&o.out, "out", "o", "cflens-demo", "folder for the dataset and the reports")
	cmd.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the generated logs")
	cmd.Flags().StringVar(&o.scale, "scale", "default", "size of the generated logs: small (~60k lines), default (~240k) or large (~2.4M)")
	return cmd
}

var demoScales = map[string]float64{"small": 0.25, "default": 1, "large": 10}

const demoBucket = "cflens-demo-logs"

func runDemo(ctx context.Context, o *demoOptions, stdout, stderr io.Writer) error {
	scale, ok := demoScales[o.scale]
	if !ok {
		return usage.Errorf("scales are small, default and large", "unknown scale %q", o.scale)
	}
	start := time.Now()
	step := func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
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
	srv, endpoint, err := startDemoS3(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()
	client := demoS3Client(endpoint)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(demoBucket)}); err != nil {
		return fmt.Errorf("create demo bucket: %w", err)
	}
	step("S3 endpoint on %s, bucket %s", endpoint, demoBucket)

	sc := loggen.DefaultScenario(scale)
	sc.Seed = o.seed
	prod, stg := sc.Distributions.Of(schema.RoleProduction).ID, sc.Distributions.Of(schema.RoleStaging).ID
	truth, err := loggen.Generate(ctx, sc, loggen.Output{Prefix: "cloudfront/", Create: s3Uploader(ctx, client, demoBucket)})
	if err != nil {
		return fmt.Errorf("generate logs: %w", err)
	}
	step("generated %d log lines in %d objects for %s (production) and %s (staging)", truth.Records, len(truth.Files), prod, stg)
	timelineFile := filepath.Join(o.out, "timeline.yaml")
	if err := atomicfile.Write(timelineFile, sc.TimelineYAML()); err != nil {
		return err
	}

	awsOpts := awsOptions{loaded: &awsClient{}}
	awsOpts.loaded.once.Do(func() { awsOpts.loaded.client = client })
	src := sourceOptions{
		sources:    []string{"s3://" + demoBucket + "/cloudfront/"},
		production: []string{prod},
		staging:    []string{stg},
		workers:    8,
		aws:        awsOpts,
	}
	iopts := &ingestOptions{src: src, out: datasetDir, summaryFile: filepath.Join(o.out, "ingest-summary.json"), maxRejectRate: 0.001, compression: "zstd"}
	step("ingesting s3://%s/cloudfront/ into %s", demoBucket, datasetDir)
	if err := runIngest(ctx, iopts, stderr); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}

	step("analyzing the dataset")
	ao := &analyzeOptions{
		src:           sourceOptions{production: []string{prod}, staging: []string{stg}, workers: 2, aws: awsOpts},
		dataset:       datasetDir,
		timeline:      timelineFile,
		timezone:      "UTC",
		bucket:        analyze.DefaultOptions().Bucket,
		maxRejectRate: 0.001,
	}
	res, err := analyzeResult(ctx, ao, stderr)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	reports := []struct{ format, path string }{
		{"html", filepath.Join(o.out, "report.html")},
		{"markdown", filepath.Join(o.out, "report.md")},
		{"json", filepath.Join(o.out, "analysis.json")},
		{"text", filepath.Join(o.out, "report.txt")},
		{"csv", filepath.Join(o.out, "csv")},
	}
	for _, r := range reports {
		if err := writeReport(ctx, res, r.format, r.path, stdout); err != nil {
			return fmt.Errorf("write %s report: %w", r.format, err)
		}
	}
	step("reports written")

	fmt.Fprintln(stdout)
	if err := writeReport(ctx, res, "text", "", stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	checks := compareWithTruth(res, truth)
	printComparison(stdout, checks)
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
	for _, c := range checks {
		if c.disagrees() || !c.countsAgree {
			return fmt.Errorf("measured rates or counts disagree with the generated ones (see the table above)")
		}
	}
	return nil
}

// startDemoS3 serves an in-memory S3 on a loopback port.
func startDemoS3(ctx context.Context) (*http.Server, string, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listen on loopback: %w", err)
	}
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// Serve fails only if the listener does; requests then fail and
			// the demo reports them.
			_ = err
		}
	}()
	return srv, "http://" + ln.Addr().String(), nil
}

// demoS3Client is an S3 client for the demo endpoint: fixed credentials
// (the endpoint takes any), path-style, checksums only where required.
func demoS3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider("cflens-demo", "cflens-demo-secret", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           3,
	})
}

// s3Uploader returns a loggen.CreateFunc that uploads each object on Close.
func s3Uploader(ctx context.Context, client *s3.Client, bucket string) loggen.CreateFunc {
	return func(name string) (io.WriteCloser, error) {
		return &s3Object{ctx: ctx, client: client, bucket: bucket, key: name}, nil
	}
}

type s3Object struct {
	bytes.Buffer
	ctx    context.Context
	client *s3.Client
	bucket string
	key    string
}

func (o *s3Object) Close() error {
	_, err := o.client.PutObject(o.ctx, &s3.PutObjectInput{
		Bucket: aws.String(o.bucket), Key: aws.String(o.key),
		Body: bytes.NewReader(o.Bytes()), ContentLength: aws.Int64(int64(o.Len())),
	})
	if err != nil {
		return fmt.Errorf("upload %s: %w", o.key, err)
	}
	return nil
}

// truthCheck compares one window × role of the analysis with what was
// generated.
type truthCheck struct {
	window, role        string
	chosen, expected    float64 // chosen off-peak probability; expected rate given peak hours
	measured            float64
	ci                  [2]float64
	errorPath, requests int64
	inside, countsAgree bool
	z                   float64 // (measured − expected) in standard errors
}

func compareWithTruth(res *analyze.Result, truth *loggen.Truth) []truthCheck {
	var out []truthCheck
	for _, w := range res.Windows {
		for _, role := range []string{schema.RoleProduction, schema.RoleStaging} {
			var cell *analyze.Cell
			for i := range res.Cells {
				if res.Cells[i].Window == w.ID && res.Cells[i].Role == role {
					cell = &res.Cells[i]
				}
			}
			if cell == nil {
				continue
			}
			var ep, s500, req int64
			var expected float64
			chosen := -1.0
			for _, tc := range truth.Cells {
				if tc.Role != role || !tc.Start.Equal(w.From) {
					continue
				}
				ep += tc.ErrorPath
				s500 += tc.Status500
				req += tc.Requests
				expected += tc.P500 * float64(tc.ErrorPath)
				if !tc.Peak {
					chosen = tc.P500
				}
			}
			if ep == 0 {
				continue
			}
			c := truthCheck{
				window: w.Label, role: role, chosen: chosen, expected: expected / float64(ep),
				measured: cell.Rate500, ci: cell.Rate500CI95,
				errorPath: cell.ErrorPathRequests, requests: cell.Requests,
			}
			c.inside = c.ci[0] <= c.expected && c.expected <= c.ci[1]
			if se := math.Sqrt(c.expected * (1 - c.expected) / float64(ep)); se > 0 {
				c.z = (c.measured - c.expected) / se
			} else if c.measured != c.expected {
				c.z = math.Inf(1)
			}
			c.countsAgree = cell.ErrorPathRequests == ep && cell.ErrorPath500 == s500 && cell.Requests == req
			out = append(out, c)
		}
	}
	return out
}

// disagrees tells whether the measured rate is further from the expected
// one than chance explains (over four standard errors: about one run in
// 16,000 for a correct analysis).
func (c truthCheck) disagrees() bool { return math.Abs(c.z) > 4 }

func printComparison(w io.Writer, checks []truthCheck) {
	fmt.Fprintln(w, "Generated versus measured (share of HTTP 500 among requests for error paths):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "window\trole\tgenerated with\texpected\tmeasured [95% CI]\tcounts\t")
	for _, c := range checks {
		gen := "-"
		if c.chosen >= 0 {
			gen = fmt.Sprintf("%.0f%%", 100*c.chosen)
		}
		verdict := "inside"
		switch {
		case c.disagrees():
			verdict = "DISAGREES"
		case !c.inside:
			// A 95% interval misses the true rate one time in twenty.
			verdict = fmt.Sprintf("outside (z = %+.1f, chance)", c.z)
		}
		counts := "exact"
		if !c.countsAgree {
			counts = "DIFFER"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%.1f%% [%.1f, %.1f] %s\t%s\t\n", strings.TrimSpace(report.TerminalSafe(c.window)), c.role, gen,
			100*c.expected, 100*c.measured, 100*c.ci[0], 100*c.ci[1], verdict, counts)
	}
	tw.Flush()
	fmt.Fprintln(w, "(expected: the chosen rate averaged over the window's traffic; peak hours, when CloudFront sends nothing to staging, have no 500s)")
}
