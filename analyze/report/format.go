package report

import (
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// pct formats a share as a percentage with one decimal: "15.0%".
func pct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(100*f, 'f', 1, 64) + "%"
}

// ciText formats an interval of shares: "[12.3%, 17.9%]".
func ciText(ci [2]float64) string { return "[" + pct(ci[0]) + ", " + pct(ci[1]) + "]" }

// points formats a difference of shares in percentage points: "+4.2".
func points(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "n/a"
	}
	s := strconv.FormatFloat(100*f, 'f', 1, 64)
	if s == "-0.0" {
		s = "0.0"
	}
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// pValue formats a p-value: three decimals, or "< 0.001".
func pValue(p float64) string {
	switch {
	case math.IsNaN(p):
		return "n/a"
	case p < 0.001:
		return "< 0.001"
	default:
		return strconv.FormatFloat(p, 'f', 3, 64)
	}
}

// fixed formats a float with n decimals.
func fixed(f float64, n int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "n/a"
	}
	s := strconv.FormatFloat(f, 'f', n, 64)
	if strings.TrimLeft(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// timeText formats a time for people: "2026-11-02 14:00Z".
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.UTC()
	if t.Second() != 0 || t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05Z")
	}
	return t.Format("2006-01-02 15:04Z")
}

// timeRFC formats a time for machines: RFC 3339 in UTC.
func timeRFC(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func durationText(seconds float64) string {
	return time.Duration(seconds * float64(time.Second)).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// roles lists the roles in report order.
var roles = [...]string{"production", "staging"}

// sortedCounts returns the keys of m, most counted first, then by name.
func sortedCounts(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// countsText lists counts, most first: "Error 12, Miss 3".
func countsText(m map[string]int64) string {
	keys := sortedCounts(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + itoa(m[k])
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// TerminalSafe replaces control characters (C0, DEL, C1, so every escape
// sequence) and the Unicode controls that reorder or hide text (bidi
// overrides, zero-width marks) with '?', so that text from a log cannot
// drive or disguise what a terminal shows.
func TerminalSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '?'
		case r == unicode.ReplacementChar:
			return r
		case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
			return '?'
		}
		return r
	}, s)
}

// oneLine makes s a single printable line for any output: control
// characters become '?' (TerminalSafe), invalid UTF-8 becomes U+FFFD.
func oneLine(s string) string {
	return TerminalSafe(strings.ToValidUTF8(s, "\uFFFD"))
}

// errWriter keeps the first write error, so renderers can write freely
// and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) print(s string) { io.WriteString(e, s) }
