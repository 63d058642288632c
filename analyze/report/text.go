package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cflens/cflens/analyze"
)

// Options configure the text renderer.
type Options struct {
	// Color adds bold headings (ANSI escapes); set it only when writing
	// to a terminal.
	Color bool
	// Width, when positive, is the terminal width: long text is wrapped
	// and the widest text columns of a table are cut to fit.
	Width int
}

const (
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

// minCut is the narrowest a text column is cut to.
const minCut = 12

// Text writes the analysis as aligned plain text for a terminal: the
// configuration matrix and the findings first (the first screen answers
// when, where and under which configuration), then the summary, the
// window × role table and the details.
// Every string from the result has its control characters replaced.
func Text(w io.Writer, r *analyze.Result, opts Options) error {
	ew := &errWriter{w: w}
	tx := textWriter{ew: ew, opts: opts}
	tx.heading("cflens analysis (" + oneLine(r.Schema) + ")")
	tx.wrapped("", oneLine(headline(r)))
	tx.table(matrixTable(r))

	ew.print("\n")
	tx.heading("FINDINGS")
	if len(r.Findings) == 0 {
		ew.print("  (none)\n")
	}
	for _, f := range r.Findings {
		tx.wrapped(fmt.Sprintf("%3d. ", f.Rank), oneLine(f.Statement))
	}

	ew.print("\n")
	tx.heading("SUMMARY")
	rows := summaryRows(r)
	labelWidth := 0
	for _, kv := range rows {
		labelWidth = max(labelWidth, utf8.RuneCountInString(kv[0]))
	}
	for _, kv := range rows {
		tx.wrapped("  "+padRight(kv[0], labelWidth)+"  ", oneLine(kv[1]))
	}

	tx.table(windowsTable(r))
	for _, t := range detailTables(r) {
		tx.table(t)
	}
	if len(r.Warnings) > 0 {
		ew.print("\n")
		tx.heading("WARNINGS")
		for _, s := range r.Warnings {
			tx.wrapped("  - ", oneLine(s))
		}
	}
	return ew.err
}

type textWriter struct {
	ew   *errWriter
	opts Options
}

func (tx textWriter) heading(s string) {
	if tx.opts.Color {
		tx.ew.print(ansiBold + s + ansiReset + "\n")
		return
	}
	tx.ew.print(s + "\n")
}

// wrapped writes prefix and s, wrapping s at word boundaries to the
// width with a hanging indent.
func (tx textWriter) wrapped(prefix, s string) {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	avail := tx.opts.Width - len(indent)
	if tx.opts.Width <= 0 || avail < 20 {
		tx.ew.print(prefix + s + "\n")
		return
	}
	line, n := prefix, 0
	for _, word := range strings.Fields(s) {
		wl := utf8.RuneCountInString(word)
		if n > 0 && n+1+wl > avail {
			tx.ew.print(line + "\n")
			line, n = indent, 0
		}
		if n > 0 {
			line += " "
			n++
		}
		line += word
		n += wl
	}
	tx.ew.print(line + "\n")
}

func (tx textWriter) table(t table) {
	tx.ew.print("\n")
	tx.heading(upperTitle(oneLine(t.Title)))
	if t.Note != "" {
		tx.wrapped("  ", oneLine(t.Note))
	}
	if t.ShortNote != "" {
		tx.wrapped("  ", oneLine(t.ShortNote))
	}
	if len(t.Rows) == 0 {
		tx.ew.print("  (none)\n")
		return
	}
	cells := make([][]string, len(t.Rows))
	width := make([]int, len(t.Cols))
	heads := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		heads[i] = c.Head
		if c.Short != "" {
			heads[i] = c.Short
		}
		width[i] = utf8.RuneCountInString(heads[i])
	}
	for i, row := range t.Rows {
		cells[i] = make([]string, len(t.Cols))
		for j := range t.Cols {
			if j < len(row) {
				cells[i][j] = oneLine(row[j])
			}
			width[j] = max(width[j], utf8.RuneCountInString(cells[i][j]))
		}
	}
	tx.fit(t.Cols, width)
	line := func(row []string, bold bool) {
		var b strings.Builder
		b.WriteString("  ")
		for j, c := range t.Cols {
			s := cut(row[j], width[j])
			if j > 0 {
				b.WriteString("  ")
			}
			switch {
			case c.Right:
				b.WriteString(padLeft(s, width[j]))
			case j == len(t.Cols)-1:
				b.WriteString(s)
			default:
				b.WriteString(padRight(s, width[j]))
			}
		}
		s := strings.TrimRight(b.String(), " ")
		if bold && tx.opts.Color {
			s = ansiBold + s + ansiReset
		}
		tx.ew.print(s + "\n")
	}
	line(heads, true)
	rule := make([]string, len(t.Cols))
	for j := range t.Cols {
		rule[j] = strings.Repeat("-", width[j])
	}
	line(rule, false)
	for _, row := range cells {
		line(row, false)
	}
}

// fit cuts the widest text columns until the table fits the width.
func (tx textWriter) fit(cs []column, width []int) {
	if tx.opts.Width <= 0 {
		return
	}
	total := func() int {
		n := 2 + 2*(len(width)-1)
		for _, w := range width {
			n += w
		}
		return n
	}
	for total() > tx.opts.Width {
		widest := -1
		for j, c := range cs {
			if !c.Right && width[j] > minCut && (widest < 0 || width[j] > width[widest]) {
				widest = j
			}
		}
		if widest < 0 {
			return
		}
		width[widest] = max(minCut, width[widest]-(total()-tx.opts.Width))
	}
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func padRight(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

func padLeft(s string, n int) string {
	return strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) + s
}

// upperTitle upper-cases a title up to its parenthesis, which may hold a
// time zone name: "Hours of day (Europe/Paris)" → "HOURS OF DAY (Europe/Paris)".
func upperTitle(s string) string {
	if i := strings.Index(s, " ("); i >= 0 {
		return strings.ToUpper(s[:i]) + s[i:]
	}
	return strings.ToUpper(s)
}
