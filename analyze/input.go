package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cflens/cflens/ingest"
)

// IDCount is a distribution ID with a number of rows.
type IDCount struct {
	ID   string
	Rows int64
}

// UnknownDistributions returns the distribution IDs of the committed rows
// that had no role (neither production nor staging), most rows first.
// Past 64 distinct IDs the rest are counted under "other"; rows without
// a distribution ID under "".
func (a *Aggregator) UnknownDistributions() []IDCount {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]IDCount, 0, len(a.global.unknownIDs))
	for id, n := range a.global.unknownIDs {
		out = append(out, IDCount{id, n})
	}
	slices.SortFunc(out, func(x, y IDCount) int {
		if c := cmp.Compare(y.Rows, x.Rows); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// AddIngest completes the result's input with what the ingest run
// counted before the analyzer: rejected lines, and the rows outside the
// range that the parser left out (added to Rows and OutOfRange).
func (r *Result) AddIngest(s *ingest.Summary) {
	if s == nil {
		return
	}
	r.Input.RejectedLines = s.RejectedLines
	r.Input.OutOfRange += s.OutOfRange
	r.Input.Rows += s.OutOfRange
	if !s.Complete {
		msg := "the run was incomplete"
		if p := s.Problems(); p != "" {
			msg += ": " + p
		}
		r.Warnings = append(r.Warnings, msg)
	}
}

// NoRows says what an analysis that analysed no row found instead, and
// what to pass: objects read, rows outside the range, the distribution
// IDs of the rows with their counts. named tells whether production or
// staging distributions were given at all.
func NoRows(r *Result, ids []IDCount, named bool) string {
	var b strings.Builder
	in := r.Input
	fmt.Fprintf(&b, "no row to analyse: %d objects, %d rows read", in.Objects, in.Rows)
	if in.OutOfRange > 0 {
		fmt.Fprintf(&b, ", %d of them outside the range %s – %s", in.OutOfRange, r.Range.From.Format("2006-01-02T15:04Z"), r.Range.To.Format("2006-01-02T15:04Z"))
	}
	if in.Settling > 0 {
		fmt.Fprintf(&b, ", %d in a settle margin", in.Settling)
	}
	if len(ids) > 0 {
		var parts []string
		for _, c := range ids {
			id := c.ID
			if id == "" {
				id = "(no distribution ID)"
			}
			parts = append(parts, fmt.Sprintf("%s (%d rows)", id, c.Rows))
		}
		who := "of neither production nor staging"
		if named {
			who = fmt.Sprintf("of neither production (%s) nor staging (%s)", orNone(r.Distributions.Production), orNone(r.Distributions.Staging))
		}
		fmt.Fprintf(&b, "; rows %s: %s", who, strings.Join(parts, ", "))
	}
	switch {
	case len(ids) > 0:
		b.WriteString("; pass --production and --staging with the distribution IDs above")
	case in.Objects == 0:
		b.WriteString("; check the sources (and --from/--to, which also choose the objects by the hour in their names)")
	case in.OutOfRange > 0:
		b.WriteString("; widen --from/--to")
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none given"
	}
	return s
}
