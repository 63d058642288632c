package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cflens/cflens/analyze"
)

// Entry is one period of a batch of reports.
type Entry struct {
	From, To time.Time
	// Href is the report's file name relative to the index page.
	Href string
	// Result is the period's analysis; nil when the period has none, and
	// then Err says why.
	Result *analyze.Result
	Err    string
}

// indexCols are the figures shown per period.
var indexCols = []string{"Requests", "Error-path requests", "Prod 500 share", "Staging 500 share"}

type indexRow struct {
	Period, Name, Href, Finding string
	Values                      []string
}

func indexRows(entries []Entry) []indexRow {
	rows := make([]indexRow, len(entries))
	for i, e := range entries {
		row := indexRow{Period: timeText(e.From) + " – " + timeText(e.To), Name: e.Href, Href: e.Href}
		if e.Result == nil {
			row.Values = []string{"-", "-", "-", "-"}
			row.Finding = orDash(e.Err)
			row.Href = ""
			if row.Name == "" {
				row.Name = "-"
			}
			rows[i] = row
			continue
		}
		var req, errReq int64
		var r500, rReq [2]int64
		for _, c := range e.Result.Cells {
			req += c.Requests
			errReq += c.ErrorPathRequests
			for j, role := range roles {
				if c.Role == role {
					r500[j] += c.ErrorPath500
					rReq[j] += c.ErrorPathRequests
				}
			}
		}
		row.Values = []string{itoa(req), itoa(errReq), "-", "-"}
		for j := range roles {
			if rReq[j] > 0 {
				row.Values[2+j] = pct(float64(r500[j]) / float64(rReq[j]))
			}
		}
		row.Finding = "-"
		if len(e.Result.Findings) > 0 {
			row.Finding = e.Result.Findings[0].Statement
		}
		rows[i] = row
	}
	return rows
}

type htmlIndex struct {
	CSP, Title string
	Cols       []string
	Rows       []indexRow
}

// Index writes an HTML page that links the reports of a batch, one row
// per period with its headline figures and top finding.
func Index(w io.Writer, title string, entries []Entry) error {
	t, err := templates()
	if err != nil {
		return err
	}
	page := htmlIndex{CSP: CSP, Title: title, Cols: indexCols, Rows: indexRows(entries)}
	if err := t.ExecuteTemplate(w, "index", page); err != nil {
		return fmt.Errorf("render html index: %w", err)
	}
	return nil
}

// IndexMarkdown writes the index of a batch as a Markdown table.
func IndexMarkdown(w io.Writer, title string, entries []Entry) error {
	ew := &errWriter{w: w}
	ew.print("# " + md(title) + "\n\n")
	rows := indexRows(entries)
	if len(rows) == 0 {
		ew.print("No reports.\n")
		return ew.err
	}
	ew.print("| Period | Report |")
	for _, c := range indexCols {
		ew.print(" " + c + " |")
	}
	ew.print(" Top finding |\n| --- | --- |" + strings.Repeat(" ---: |", len(indexCols)) + " --- |\n")
	for _, r := range rows {
		link := md(r.Name)
		if r.Href != "" {
			link = "[" + md(r.Name) + "](" + linkTarget(r.Href) + ")"
		}
		ew.print("| " + md(r.Period) + " | " + link + " |")
		for _, v := range r.Values {
			ew.print(" " + md(v) + " |")
		}
		ew.print(" " + md(r.Finding) + " |\n")
	}
	return ew.err
}

// linkTarget percent-encodes a relative link for Markdown, keeping only
// characters that cannot end the link or start a scheme.
func linkTarget(href string) string {
	var b strings.Builder
	for i := 0; i < len(href); i++ {
		c := href[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == '/':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	s := b.String()
	if strings.HasPrefix(s, "/") {
		// Relative links only.
		s = "." + s
	}
	return s
}
