package report

import (
	"io"
	"strconv"
	"strings"

	"github.com/cflens/cflens/analyze"
)

// mdPunct are the ASCII punctuation characters that Markdown (CommonMark
// and GitHub's tables and strikethrough) may read as markup anywhere in a
// line; each is escaped with a backslash. '@' is there for GitHub's bare
// e-mail autolinks, '&' for entities.
const mdPunct = "\\`*_{}[]()<>#+!|~&@$"

// md escapes s for Markdown text on one line, table cells included: every
// character Markdown could read as markup, a link or HTML becomes a
// literal, and control characters and line breaks become '?'. Besides
// mdPunct it escapes what is markup only in some places, so that numbers
// and times stay readable: '-' and '=' at the start (lists, headings),
// '.' after leading digits and before a space (ordered
// lists) or after "www" (bare
// autolinks), and ':' before "//" (bare URL autolinks).
func md(s string) string {
	s = oneLine(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	digits := true
	for i, r := range s {
		esc := false
		switch {
		case r >= 0x80:
		case strings.ContainsRune(mdPunct, r):
			esc = true
		case r == '-' || r == '=':
			esc = i == 0
		case r == '.':
			esc = (digits && (i+1 == len(s) || s[i+1] == ' ')) || (i >= 3 && strings.EqualFold(s[i-3:i], "www"))
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
// and wikis: summary, findings, the window × role table and the details.
func Markdown(w io.Writer, r *analyze.Result) error {
	ew := &errWriter{w: w}
	ew.print("# cflens analysis\n\n")
	for _, kv := range summaryRows(r) {
		ew.print("- **" + kv[0] + ":** " + md(kv[1]) + "\n")
	}
	ew.print("\n## Findings\n\n")
	if len(r.Findings) == 0 {
		ew.print("None.\n")
	}
	for _, f := range r.Findings {
		ew.print(strconv.Itoa(f.Rank) + ". " + md(f.Statement) + "\n")
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
