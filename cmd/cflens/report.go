package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/analyze/report"
	"github.com/cflens/cflens/cmd/internal/atomicfile"
	"github.com/cflens/cflens/cmd/internal/redact"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
)

// reportFormat checks a --format value (see report.FormatFor).
func reportFormat(format, out string) (string, error) {
	f, err := report.FormatFor(format, out)
	if err != nil {
		return "", usage.Errorf("--format is one of "+strings.Join(report.Formats(), ", "), "%w", err)
	}
	return f, nil
}

// writeReport renders an analysis in a format to out, or to stdout when
// out is empty. Files are written atomically (temporary file, rename).
// Text on a terminal gets bold headings and fits its width. CSV writes
// one file per table into the folder out; to stdout or a file ending in
// .csv it writes the cells table.
func writeReport(ctx context.Context, res *analyze.Result, format, out string, stdout io.Writer) error {
	return writeReportTable(ctx, res, format, out, "", stdout)
}

// writeReportTable is writeReport choosing the CSV table written to
// stdout or a single file.
func writeReportTable(ctx context.Context, res *analyze.Result, format, out, table string, stdout io.Writer) error {
	format, err := reportFormat(format, out)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if format == "csv" && out != "" && !strings.EqualFold(filepath.Ext(out), ".csv") {
		if table != "" {
			return usage.Errorf("--table picks the table written to stdout or to a .csv file", "--table %s with a folder for --out", table)
		}
		return writeCSVDir(res, out)
	}
	wo := report.WriteOptions{Table: table}
	if format == "text" && out == "" && isTerminal(stdout) {
		wo.Text.Color = true
		if w, _, err := term.GetSize(int(stdout.(*os.File).Fd())); err == nil {
			wo.Text.Width = w
		}
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, res, format, wo); err != nil {
		if errors.Is(err, report.ErrUnknownTable) {
			return usage.Errorf("tables: "+strings.Join(report.CSVTables(), ", "), "unknown table %q", table)
		}
		return err
	}
	if out == "" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	}
	return atomicfile.Write(out, buf.Bytes())
}

// writeCSVDir writes one CSV file per table into dir.
func writeCSVDir(res *analyze.Result, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report folder: %w", err)
	}
	files, err := report.CSVFiles(res)
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(files) {
		if err := atomicfile.Write(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	return nil
}

// analyzePeriod analyses one period [from, to). An ingest.ErrIncomplete
// error comes with a result that is still written.
type analyzePeriod func(ctx context.Context, from, to time.Time) (*analyze.Result, error)

// runEvery writes one report per period of [from, to) into the folder
// out, named report-YYYYMMDDTHHMMZ.<ext> (a folder of CSV files for csv),
// and index.html and index.md linking them. A period whose analysis fails
// is listed with its error and the others are still written; the
// returned error then wraps ingest.ErrIncomplete. The index is written
// last, so that it links only reports that exist.
func runEvery(ctx context.Context, from, to time.Time, every time.Duration, format, out string, run analyzePeriod) error {
	if from.IsZero() || to.IsZero() {
		return usage.Errorf("a batch needs both ends of the range", "--every needs --from and --to")
	}
	ps, err := report.Periods(from, to, every)
	if err != nil {
		return usage.Errorf("periods look like 24h or 1h", "--every: %w", err)
	}
	if format, err = reportFormat(format, ""); err != nil {
		return err
	}
	if out == "" {
		return usage.Errorf("a batch writes into a folder", "--every needs --out DIR")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create report folder: %w", err)
	}
	entries := make([]report.Entry, 0, len(ps))
	var failed []string
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := report.Entry{From: p.From, To: p.To}
		res, err := run(ctx, p.From, p.To)
		var uerr *usage.Error
		if errors.As(err, &uerr) {
			return err
		}
		if res != nil {
			name := report.PeriodName(p.From, format)
			if werr := writeReport(ctx, res, format, filepath.Join(out, name), io.Discard); werr != nil {
				return werr
			}
			e.Result, e.Href = res, report.PeriodHref(name, format)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			if !errors.Is(err, ingest.ErrIncomplete) || res == nil {
				e.Err = redact.Error(err)
			}
			failed = append(failed, p.From.UTC().Format(time.RFC3339))
		}
		entries = append(entries, e)
	}
	title := report.BatchTitle(from, to, every)
	var html, md bytes.Buffer
	if err := report.Index(&html, title, entries); err != nil {
		return err
	}
	if err := report.IndexMarkdown(&md, title, entries); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(out, "index.html"), html.Bytes()); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(out, "index.md"), md.Bytes()); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d periods incomplete (%s): %w", len(failed), len(ps), strings.Join(failed, ", "), ingest.ErrIncomplete)
	}
	return nil
}

// runAnalyzeEvery is 'cflens analyze --every': one analysis per period
// of --from/--to, each written as a report into the folder --out (HTML
// unless --format says otherwise), with an index.
func runAnalyzeEvery(ctx context.Context, o *analyzeOptions, stderr io.Writer) error {
	from, err := timeFlag("from", o.src.from)
	if err != nil {
		return err
	}
	to, err := timeFlag("to", o.src.to)
	if err != nil {
		return err
	}
	format := o.format
	if format == "" {
		format = "html"
	}
	return runEvery(ctx, from, to, o.every, format, o.out, func(ctx context.Context, from, to time.Time) (*analyze.Result, error) {
		po := *o
		po.src.from, po.src.to = from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano)
		po.format, po.out = format, ""
		return analyzeResult(ctx, &po, stderr)
	})
}

type reportOptions struct {
	in     string
	format string
	out    string
	table  string
}

func newReportCmd(d *deps) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report --in analysis.json [--format text|markdown|csv|json|html] [--out FILE|DIR]",
		Short: "Render a saved analysis as text, Markdown, CSV, JSON or HTML",
		Long: `Render an analysis saved with 'cflens analyze --format json' without
reading the logs again.

Formats: text (aligned tables; bold and fitted to the width on a
terminal), markdown (for issues and wikis), csv (one file per table into
the folder --out, or the table --table to stdout or a .csv file), json
(the cflens.analysis/v1 contract) and html (one self-contained page with
charts, no script, nothing loaded from the network). Without --format the
format follows the extension of --out, else text. Files are replaced
atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.Context(), o, d.streams(cmd))
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.in, "in", "i", "", "analysis JSON file ('-' for stdin)")
	fs.StringVarP(&o.format, "format", "f", "", "output format: "+strings.Join(report.Formats(), ", ")+" (default from --out, else text)")
	fs.StringVarP(&o.out, "out", "o", "", "write to this file (a folder for csv) instead of stdout")
	fs.StringVar(&o.table, "table", "", "with csv to stdout or a .csv file: the table ("+strings.Join(report.CSVTables(), ", ")+"; default cells)")
	return cmd
}

func runReport(ctx context.Context, o *reportOptions, s *IOStreams) error {
	if o.in == "" {
		return usage.Errorf("save one with 'cflens analyze --format json --out analysis.json'", "--in is required")
	}
	res, err := readAnalysis(o.in, s.In)
	if err != nil {
		return err
	}
	return writeReportTable(ctx, res, o.format, o.out, o.table, s.Out)
}

// readAnalysis reads a cflens.analysis/v1 JSON file, or stdin for "-".
func readAnalysis(path string, stdin io.Reader) (*analyze.Result, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read analysis: %w", err)
		}
		defer f.Close()
		r = f
	}
	res, err := analyze.ReadJSON(r)
	if err != nil {
		return nil, usage.Errorf("--in takes the JSON written by 'cflens analyze --format json'", "%s: %w", path, err)
	}
	return res, nil
}
