package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/cflens/cflens/analyze"
)

// The formats of a report, by name. A new format is a renderer in this
// package, a line in formats, and its extension in extensions.
var (
	formats    = [...]string{"text", "markdown", "csv", "json", "html"}
	extensions = map[string]string{"text": ".txt", "markdown": ".md", "csv": "", "json": ".json", "html": ".html"}
)

// ErrUnknownFormat is returned for a format name that is not one of
// Formats.
var ErrUnknownFormat = errors.New("unknown format")

// Formats lists the report formats: text, markdown, csv, json, html.
func Formats() []string { return formats[:] }

// FormatFor checks a format name, accepting "md" for markdown; an empty
// one is taken from the extension of the file out (.md, .json, .html,
// .csv), else text.
func FormatFor(format, out string) (string, error) {
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
		if _, ok := extensions[f]; ok {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownFormat, format)
}

// WriteOptions are the settings of Write.
type WriteOptions struct {
	// Text are the options of the text format.
	Text Options
	// Table is the CSV table written (default cells).
	Table string
}

// Write renders res in a format of Formats to w. It renders whole before
// it writes, so that a failed rendering writes nothing.
func Write(w io.Writer, res *analyze.Result, format string, o WriteOptions) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "text":
		err = Text(&buf, res, o.Text)
	case "markdown":
		err = Markdown(&buf, res)
	case "json":
		err = JSON(&buf, res)
	case "html":
		err = HTML(&buf, res)
	case "csv":
		table := o.Table
		if table == "" {
			table = "cells"
		}
		err = CSV(&buf, res, table)
	default:
		err = fmt.Errorf("%w %q", ErrUnknownFormat, format)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// CSVFiles renders every CSV table of res, by file name (table.csv), for
// a folder of CSV files.
func CSVFiles(res *analyze.Result) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range CSVTables() {
		var buf bytes.Buffer
		if err := CSV(&buf, res, name); err != nil {
			return nil, err
		}
		files[name+".csv"] = buf.Bytes()
	}
	return files, nil
}

// MaxPeriods bounds a batch of periodic reports, so that a typo in the
// period cannot ask for millions of files.
const MaxPeriods = 10000

// Period is one period [From, To) of a batch of reports.
type Period struct{ From, To time.Time }

// Periods cuts [from, to) into consecutive periods of length every, the
// last one shorter when every does not divide the range.
func Periods(from, to time.Time, every time.Duration) ([]Period, error) {
	switch {
	case from.IsZero() || to.IsZero():
		return nil, errors.New("a batch needs both ends of the range")
	case every <= 0:
		return nil, fmt.Errorf("period %s is not positive", every)
	case !from.Before(to):
		return nil, fmt.Errorf("%s is not before %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from)/every >= MaxPeriods:
		return nil, fmt.Errorf("period %s cuts the range into more than %d periods", every, MaxPeriods)
	}
	var ps []Period
	for t := from; t.Before(to); t = t.Add(every) {
		end := t.Add(every)
		if to.Before(end) {
			end = to
		}
		ps = append(ps, Period{t, end})
	}
	return ps, nil
}

// PeriodName names the report of the period starting at t in a batch:
// report-YYYYMMDDTHHMMZ with the format's extension (a folder for csv).
func PeriodName(t time.Time, format string) string {
	return "report-" + t.UTC().Format("20060102T1504Z") + extensions[format]
}

// PeriodHref is the link from a batch's index to the report named name:
// the cells table for a folder of CSV files.
func PeriodHref(name, format string) string {
	if format == "csv" {
		return name + "/cells.csv"
	}
	return name
}

// BatchTitle is the title of the index of a batch of reports.
func BatchTitle(from, to time.Time, every time.Duration) string {
	return "cflens reports " + from.UTC().Format("2006-01-02 15:04Z") + " – " + to.UTC().Format("2006-01-02 15:04Z") + ", every " + shortDuration(every)
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
