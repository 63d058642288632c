package ingest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteText writes the summary for people: a status line, a line per
// distribution, the rejected lines by reason with their samples, the
// unknown fields and the failed objects. Every text that comes from logs,
// object names or errors goes through clean first (the caller's terminal
// sanitiser and credential redaction); took is the run's duration.
func (s *Summary) WriteText(w io.Writer, took time.Duration, clean func(string) string) {
	status := "complete"
	if !s.Complete {
		status = "INCOMPLETE"
	}
	fmt.Fprintf(w, "%s: %d objects (%d skipped as already ingested), %d lines: %d rows, %d header lines, %d rejected, %d out of range; %s\n",
		status, s.Objects, s.Skipped, s.Lines, s.Rows, s.HeaderLines, s.RejectedLines, s.OutOfRange, took.Round(time.Millisecond))
	for _, id := range s.DistributionIDs() {
		c := s.Distributions[id]
		name := id
		if name == "" {
			name = "(no distribution ID in the object names)"
		}
		fmt.Fprintf(w, "  %s: %d objects, %d rows, %d rejected\n", clean(name), c.Objects, c.Rows, c.RejectedLines)
	}
	for _, reason := range slices.Sorted(maps.Keys(s.RejectedByReason)) {
		rr := s.RejectedByReason[reason]
		fmt.Fprintf(w, "  rejected %s: %d\n", clean(reason), rr.Count)
		for _, smp := range rr.Samples {
			what := smp.Detail
			if smp.Field != "" {
				what = strings.TrimSpace("field " + smp.Field + " " + what)
			}
			text := smp.Text
			if len(text) > 100 {
				text = text[:100] + "…"
			}
			fmt.Fprintf(w, "    %s:%d %s: %s\n", clean(smp.Object), smp.Line, clean(what), clean(text))
		}
	}
	for _, f := range slices.Sorted(maps.Keys(s.UnknownFields)) {
		fmt.Fprintf(w, "  unknown field %q in %d headers (ignored)\n", clean(f), s.UnknownFields[f])
	}
	if s.UnknownFieldsOmitted > 0 {
		fmt.Fprintf(w, "  %d more unknown field names in headers (not listed; ignored)\n", s.UnknownFieldsOmitted)
	}
	for _, f := range s.Failed {
		if f.Listing() {
			fmt.Fprintf(w, "  FAILED %s: %s\n", clean(f.Object), clean(f.Error))
			continue
		}
		fmt.Fprintf(w, "  FAILED %s after %d %s: %s\n", clean(f.Object), f.Attempts, plural(f.Attempts, "attempt", "attempts"), clean(f.Error))
	}
}
