package cloudtrail

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes what was read for people: a status line, the roles,
// and the failed calls, unusable events and unread files one per line.
// Every text that comes from the record or from errors goes through clean
// first (the caller's terminal sanitiser and credential redaction).
func (r *Report) WriteText(w io.Writer, clean func(string) string) {
	status := "complete"
	if len(r.FileErrors) > 0 {
		status = "INCOMPLETE"
	}
	fmt.Fprintf(w, "cloudtrail %s: %d files (%d skipped), %d records, %d CloudFront calls (%d duplicates): %d applied, %d for other distributions, %d out of range, %d failed, %d unreadable; %d timeline changes\n",
		status, r.Files, r.SkippedFiles, r.Records, r.CloudFrontEvents, r.Duplicates, r.Relevant, r.OtherDistributions, r.OutOfRange, len(r.Failed), len(r.Unknown), r.Changes)
	orNone := func(s string) string {
		if s == "" {
			return "(unknown)"
		}
		return s
	}
	fmt.Fprintf(w, "  production %s, staging %s, policies %s\n", clean(orNone(r.Production)), clean(orNone(r.Staging)), clean(orNone(strings.Join(r.Policies, ", "))))
	for _, f := range r.Failed {
		fmt.Fprintf(w, "  skipped failed call %s %s on %s at %s: %s: %s\n", clean(f.EventName), clean(f.EventID), clean(orNone(f.Resource)),
			f.Time.UTC().Format(time.RFC3339), clean(f.ErrorCode), clean(f.ErrorMessage))
	}
	for _, u := range r.Unknown {
		at := ""
		if !u.Time.IsZero() {
			at = " at " + u.Time.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  unreadable %s %s%s in %s: %s\n", clean(orNone(u.EventName)), clean(orNone(u.EventID)), at, clean(u.File), clean(u.Reason))
	}
	for _, f := range r.FileErrors {
		fmt.Fprintf(w, "  unread file %s: %s\n", clean(f.File), clean(f.Error))
	}
}
