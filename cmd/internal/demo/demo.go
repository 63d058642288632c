// Package demo holds what 'cflens demo' runs besides the commands
// themselves: an S3 endpoint inside the process on loopback, an uploader
// of generated logs to it, and the comparison of an analysis with the
// truth of the generated logs.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/analyze/report"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/schema"
)

// Logs are the logs of a demo run, generated into a bucket.
type Logs struct {
	// Production and Staging are the distribution IDs.
	Production, Staging string
	// Timeline is the scenario's configuration timeline, as the YAML
	// that 'cflens analyze --timeline' reads.
	Timeline []byte
	// Truth is what was generated.
	Truth *loggen.Truth
}

// Upload generates the logs of the default scenario at scale (1: about
// 240,000 lines over five days) from seed, and uploads them under prefix
// into bucket.
func Upload(ctx context.Context, client *s3.Client, bucket, prefix string, scale float64, seed uint64) (*Logs, error) {
	sc := loggen.DefaultScenario(scale)
	sc.Seed = seed
	truth, err := loggen.Generate(ctx, sc, loggen.Output{Prefix: prefix, Create: Uploader(ctx, client, bucket)})
	if err != nil {
		return nil, fmt.Errorf("generate logs: %w", err)
	}
	return &Logs{
		Production: sc.Distributions.Of(schema.RoleProduction).ID,
		Staging:    sc.Distributions.Of(schema.RoleStaging).ID,
		Timeline:   sc.TimelineYAML(),
		Truth:      truth,
	}, nil
}

// StartS3 serves an in-memory S3 on a loopback port, and returns the
// server and its endpoint URL.
func StartS3(ctx context.Context) (*http.Server, string, error) {
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

// Client is an S3 client for the demo endpoint: fixed credentials
// (the endpoint takes any), path-style, checksums only where required.
func Client(endpoint string) *s3.Client {
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

// Uploader returns a loggen.CreateFunc that uploads each object on Close.
func Uploader(ctx context.Context, client *s3.Client, bucket string) loggen.CreateFunc {
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

// Check compares one window × role of the analysis with what was
// generated.
type Check struct {
	window, role        string
	chosen, expected    float64 // chosen off-peak probability; expected rate given peak hours
	measured            float64
	ci                  [2]float64
	errorPath, requests int64
	inside, countsAgree bool
	z                   float64 // (measured − expected) in standard errors
}

// Compare checks each window × role of an analysis of generated logs
// against what was generated: the counts exactly, and the measured 500
// rate against the one expected from the chosen rates and peak hours.
func Compare(res *analyze.Result, truth *loggen.Truth) []Check {
	var out []Check
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
			c := Check{
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

// Disagrees tells whether the measured rate is further from the expected
// one than chance explains (over four standard errors: about one run in
// 16,000 for a correct analysis).
func (c Check) Disagrees() bool { return math.Abs(c.z) > 4 }

// Agree tells whether the counts of every check are exact and no rate
// disagrees.
func Agree(checks []Check) bool {
	for _, c := range checks {
		if c.Disagrees() || !c.countsAgree {
			return false
		}
	}
	return true
}

// PrintComparison writes the checks as a table.
func PrintComparison(w io.Writer, checks []Check) {
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
		case c.Disagrees():
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
