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

// reportFormats are the renderings of an analysis.
var reportFormats = []string{"text", "markdown", "csv", "json", "html"}

// reportExt is the file extension of each format.
var reportExt = map[string]string{"text": ".txt", "markdown": ".md", "csv": "", "json": ".json", "html": ".html"}

// reportFormat checks a --format value, accepting "md" for markdown; an
// empty one is taken from the extension of out, else text.
func reportFormat(format, out string) (string, error) {
	switch f := strings.ToLower(format); f {
	case "md":
		return "markdown", nil
	case "":
		switch strings.ToLower(filepath.Ext(out)) {
		case ".md", ".markdown":
			return "markdown", nil
		case ".json":
			return "json", nil
		case ".html", ".htm":
			return "html", nil
		case ".csv":
			return "csv", nil
		}
		return "text", nil
	default:
		for _, x := range reportFormats {
			if f == x {
				return f, nil
			}
		}
	}
	return "", usage.Errorf("--format is one of "+strings.Join(reportFormats, ", "), "unknown format %q", format)
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
	var buf bytes.Buffer
	switch format {
	case "text":
		opts := report.Options{}
		if out == "" && isTerminal(stdout) {
			opts.Color = true
			if w, _, err := term.GetSize(int(stdout.(*os.File).Fd())); err == nil {
				opts.Width = w
			}
		}
		err = report.Text(&buf, res, opts)
	case "markdown":
		err = report.Markdown(&buf, res)
	case "json":
		err = report.JSON(&buf, res)
	case "html":
		err = report.HTML(&buf, res)
	case "csv":
		if table == "" {
			table = "cells"
		}
		err = report.CSV(&buf, res, table)
		if errors.Is(err, report.ErrUnknownTable) {
			return usage.Errorf("tables: "+strings.Join(report.CSVTables(), ", "), "unknown table %q", table)
		}
	}
	if err != nil {
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
	for _, name := range report.CSVTables() {
		var buf bytes.Buffer
		if err := report.CSV(&buf, res, name); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, name+".csv"), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// maxPeriods bounds a batch, so that a typo in --every cannot write
// millions of files.
const maxPeriods = 10000

// periods cuts [from, to) into consecutive periods of length every, the
// last one shorter when every does not divide the range.
func periods(from, to time.Time, every time.Duration) ([][2]time.Time, error) {
	if from.IsZero() || to.IsZero() {
		return nil, usage.Errorf("a batch needs both ends of the range", "--every needs --from and --to")
	}
	if every <= 0 {
		return nil, usage.Errorf("periods look like 24h or 1h", "--every %s is not positive", every)
	}
	if !from.Before(to) {
		return nil, usage.Errorf("", "--from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if n := to.Sub(from) / every; n >= maxPeriods {
		return nil, usage.Errorf("", "--every %s cuts the range into more than %d periods", every, maxPeriods)
	}
	var ps [][2]time.Time
	for t := from; t.Before(to); t = t.Add(every) {
		ps = append(ps, [2]time.Time{t, minTime(t.Add(every), to)})
	}
	return ps, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// periodName names the report of the period starting at t.
func periodName(t time.Time, format string) string {
	return "report-" + t.UTC().Format("20060102T1504Z") + reportExt[format]
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
	ps, err := periods(from, to, every)
	if err != nil {
		return err
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
		e := report.Entry{From: p[0], To: p[1]}
		res, err := run(ctx, p[0], p[1])
		var uerr *usage.Error
		if errors.As(err, &uerr) {
			return err
		}
		if res != nil {
			name := periodName(p[0], format)
			if werr := writeReport(ctx, res, format, filepath.Join(out, name), io.Discard); werr != nil {
				return werr
			}
			e.Result, e.Href = res, name
			if format == "csv" {
				e.Href = name + "/cells.csv"
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			if !errors.Is(err, ingest.ErrIncomplete) || res == nil {
				e.Err = redact.Error(err)
			}
			failed = append(failed, p[0].UTC().Format(time.RFC3339))
		}
		entries = append(entries, e)
	}
	title := "cflens reports " + from.UTC().Format("2006-01-02 15:04Z") + " – " + to.UTC().Format("2006-01-02 15:04Z") + ", every " + shortDuration(every)
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

// shortDuration drops zero minutes and seconds: 24h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

type reportOptions struct {
	in     string
	format string
	out    string
	table  string
}

func newReportCmd() *cobra.Command {
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
			return runReport(cmd.Context(), o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.in, "in", "i", "", "analysis JSON file ('-' for stdin)")
	fs.StringVarP(&o.format, "format", "f", "", "output format: "+strings.Join(reportFormats, ", ")+" (default from --out, else text)")
	fs.StringVarP(&o.out, "out", "o", "", "write to this file (a folder for csv) instead of stdout")
	fs.StringVar(&o.table, "table", "", "with csv to stdout or a .csv file: the table ("+strings.Join(report.CSVTables(), ", ")+"; default cells)")
	return cmd
}

func runReport(ctx context.Context, o *reportOptions, stdin io.Reader, stdout io.Writer) error {
	if o.in == "" {
		return usage.Errorf("save one with 'cflens analyze --format json --out analysis.json'", "--in is required")
	}
	res, err := readAnalysis(o.in, stdin)
	if err != nil {
		return err
	}
	return writeReportTable(ctx, res, o.format, o.out, o.table, stdout)
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
