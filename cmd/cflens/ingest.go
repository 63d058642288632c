package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/cflens/cflens/analyze/report"
	"github.com/cflens/cflens/cmd/internal/atomicfile"
	"github.com/cflens/cflens/cmd/internal/redact"
	"github.com/cflens/cflens/ingest"
)

type ingestOptions struct {
	src           sourceOptions
	out           string
	summaryFile   string
	maxRejectRate float64
	compression   string
	// checkpointBytes bounds the rows buffered before a checkpoint
	// writes them (0: the dataset default).
	checkpointBytes int64
	verbose         bool
}

func newIngestCmd(d *deps) *cobra.Command {
	o := &ingestOptions{}
	cmd := &cobra.Command{
		Use:   "ingest [SRC…] [--production ID|SRC] [--staging ID|SRC] [--out DIR|s3://bucket/prefix/]",
		Short: "Read CloudFront access logs into a Parquet dataset (or just check them)",
		Long: `Read CloudFront standard access logs from local files, folders, globs or
s3://bucket/prefix/ URLs, parse them, and write them as a Hive-partitioned
Parquet dataset with --out. Without --out the logs are only parsed and
counted. A summary goes to stderr; --summary writes it as JSON.

One run writes a dataset at a time: a run that finds another one writing
it stops at once, naming that run (exit 4); a killed run's hold expires
after a minute, or at once when the next run is on the same host.

Exit status: 0 complete, 3 incomplete (objects that could not be read, or
rejected lines over --max-reject-rate), 4 the dataset is busy with another
run, 2 usage error, 1 other errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.src.sources = args
			setIngestGC()
			return runIngest(cmd.Context(), o, d.streams(cmd))
		},
	}
	bindSourceFlags(cmd.Flags(), &o.src)
	d.aws(&o.src.aws)
	cmd.Flags().StringVar(&o.out, "out", "", "dataset to write: a folder or s3://bucket/prefix/")
	cmd.Flags().StringVar(&o.summaryFile, "summary", "", "write the run summary as JSON to this file")
	cmd.Flags().Float64Var(&o.maxRejectRate, "max-reject-rate", 0.001, "share of rejected lines above which the run is incomplete (exit 3)")
	cmd.Flags().StringVar(&o.compression, "compression", "zstd", "Parquet compression: zstd or snappy")
	cmd.Flags().Int64Var(&o.checkpointBytes, "checkpoint-bytes", 0, "memory of parsed rows held before they are written to the dataset; a second buffer as large fills while one is written (0: 32 MiB)")
	cmd.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "log retries and failures as they happen")
	return cmd
}

func runIngest(ctx context.Context, o *ingestOptions, s *IOStreams) error {
	stderr := s.Err
	o.src.log = newLogger(stderr, o.verbose)
	o.src.digests = true
	rs, err := resolveSources(ctx, &o.src)
	if err != nil {
		return err
	}
	sink, err := openIngestSink(ctx, o)
	if err != nil {
		return err
	}
	opts := ingest.DefaultOptions()
	opts.Workers = o.src.workers
	opts.From, opts.To = rs.from, rs.to
	rs.setParse(&opts)
	opts.Roles = rs.roles
	opts.MaxRejectRate = o.maxRejectRate
	if o.out != "" {
		// Every column is kept, and the dataset writer holds committed rows
		// until its next checkpoint: smaller batches keep the memory of
		// the batches in flight small.
		opts.BatchRows = 16 * 1024
	}
	opts.Logger = newLogger(stderr, o.verbose)
	bar := newProgress(stderr, "ingest")
	opts.Progress = bar.update
	start := s.Now()
	sum, runErr := ingest.Run(ctx, opts, rs.sources, sink)
	bar.finish()
	if sum != nil {
		redactSummary(sum)
		writeSummaryText(stderr, sum, s.Now().Sub(start))
		if o.summaryFile != "" {
			if err := writeJSONFile(o.summaryFile, sum); err != nil {
				return err
			}
		}
	}
	return runErr
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redact.ReplaceAttr}))
}

// countSink parses and counts without keeping rows.
type countSink struct{}

func (countSink) Begin(context.Context, ingest.ObjectRef) (ingest.ObjectSink, error) {
	return countObject{}, nil
}
func (countSink) Close(context.Context) error { return nil }

type countObject struct{}

func (countObject) Write(arrow.RecordBatch) error { return nil }
func (countObject) Commit() error                 { return nil }
func (countObject) Abort()                        {}

// writeSummaryText writes the summary for a terminal: credentials
// redacted, control and bidi characters neutralised.
func writeSummaryText(w io.Writer, s *ingest.Summary, took time.Duration) {
	s.WriteText(w, took, terminalText)
}

// terminalText is what every log-derived or error text printed goes
// through: credentials redacted, then report.TerminalSafe.
func terminalText(s string) string { return report.TerminalSafe(redact.String(s)) }

// redactSummary removes credentials from the error texts of a summary
// before it is printed or written: an endpoint may echo what a request
// carried into its error message.
func redactSummary(s *ingest.Summary) {
	for i := range s.Failed {
		s.Failed[i].Error = redact.String(s.Failed[i].Error)
	}
}

// writeJSONFile writes v as indented JSON, atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// openIngestSink returns where ingested rows go: the Parquet dataset of
// --out, or a sink that only counts.
func openIngestSink(ctx context.Context, o *ingestOptions) (ingest.Sink, error) {
	if o.out == "" {
		return countSink{}, nil
	}
	return openDatasetWriter(ctx, o)
}
