package report

import (
	"io"
	"strconv"
	"strings"

	"github.com/cflens/cflens/analyze"
)

// mdAlways are the characters escaped wherever they stand: '|' splits a
// table cell, '\' escapes, '<' opens HTML and autolinks, '`' code, '*'
// and '~' emphasis and strikethrough (GitHub strikes with one tilde), '$'
// GitHub's math, '@' its bare e-mail autolinks, '&' entities.
const mdAlways = "|\\<`*~$@&"

// md escapes s for Markdown text on one line, table cells included, so
// that it reads as the text it is: what would split a table or become
// markup, a link or HTML is escaped with a backslash, and control
// characters and line breaks become '?'. Brackets, parentheses, '+' and
// the like stay as they are unless they could form markup where they
// stand: besides mdAlways, it escapes '_' at a word's edge (emphasis),
// ']' before '(', '[' or ':' (links), a line-start marker ('#', '>',
// '-', '+', '=' and an ordered list's "12." or "12)"), '.' after "www"
// and ':' before "//" (bare autolinks).
func md(s string) string {
	s = oneLine(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	digits := true
	word := func(i int) bool {
		if i < 0 || i >= len(s) {
			return false
		}
		c := s[i]
		return c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i, r := range s {
		esc := false
		switch {
		case r >= 0x80:
		case strings.ContainsRune(mdAlways, r):
			esc = true
		case r == '#' || r == '>' || r == '-' || r == '+' || r == '=':
			esc = i == 0
		case r == '_':
			esc = !word(i-1) || !word(i+1)
		case r == ']':
			esc = i+1 < len(s) && strings.ContainsRune("([:", rune(s[i+1]))
		case r == '.' || r == ')':
			esc = (digits && i > 0 && (i+1 == len(s) || s[i+1] == ' ')) || (r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"))
		case r == ':':
			esc = strings.HasPrefix(s[i+1:], "//")
		}
		if esc {
			b.WriteByte('\\')
		}
		digits = digits && r >= '0' && r <= '9'
		b.WriteRune(r)
	}
	return b.String()
}

// Markdown writes the analysis as GitHub-flavoured Markdown for issues
// and wikis: the configuration matrix, the findings with the tests behind
// them, the summary, the window × role table and the details.
func Markdown(w io.Writer, r *analyze.Result) error {
	ew := &errWriter{w: w}
	ew.print("# cflens analysis\n\n")
	ew.print(md(headline(r)) + "\n")
	mdTable(ew, matrixTable(r))
	ew.print("\n## Findings\n\n")
	if len(r.Findings) == 0 {
		ew.print("None.\n")
	}
	for _, f := range r.Findings {
		ew.print(strconv.Itoa(f.Rank) + ". " + md(f.Statement) + "\n")
		indent := strings.Repeat(" ", len(strconv.Itoa(f.Rank))+2)
		for _, t := range f.Tests {
			ew.print(indent + "- test: " + md(t) + "\n")
		}
	}
	ew.print("\n## Summary\n\n")
	for _, kv := range summaryRows(r) {
		ew.print("- **" + kv[0] + ":** " + md(kv[1]) + "\n")
	}
	mdTable(ew, windowsTable(r))
	for _, t := range detailTables(r) {
		mdTable(ew, t)
	}
	if len(r.Warnings) > 0 {
		ew.print("\n## Warnings\n\n")
		for _, s := range r.Warnings {
			ew.print("- " + md(s) + "\n")
		}
	}
	return ew.err
}

func mdTable(ew *errWriter, t table) {
	ew.print("\n## " + md(t.Title) + "\n\n")
	if t.Note != "" {
		ew.print(md(t.Note) + "\n\n")
	}
	if len(t.Rows) == 0 {
		ew.print("None.\n")
		return
	}
	var b strings.Builder
	b.WriteString("|")
	for _, c := range t.Cols {
		b.WriteString(" " + md(c.Head) + " |")
	}
	b.WriteString("\n|")
	for _, c := range t.Cols {
		if c.Right {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteString("\n")
	for _, row := range t.Rows {
		b.WriteString("|")
		for j := range t.Cols {
			s := ""
			if j < len(row) {
				s = md(row[j])
			}
			b.WriteString(" " + s + " |")
		}
		b.WriteString("\n")
	}
	ew.print(b.String())
}
