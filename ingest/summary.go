package ingest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrIncomplete reports a run that did not take everything it was asked
// to: objects that could not be read, or rejected lines over the allowed
// rate. The summary says which.
var ErrIncomplete = errors.New("run incomplete")

// Counts are the line counts of a run or of one distribution. Every line
// read ends as exactly one of: a header line, a row, a rejected line, or a
// row outside the requested time range, so
// Lines = HeaderLines + Rows + RejectedLines + OutOfRange.
type Counts struct {
	Objects       int64 `json:"objects"`
	Bytes         int64 `json:"bytes"`
	Lines         int64 `json:"lines"`
	HeaderLines   int64 `json:"header_lines"`
	Rows          int64 `json:"rows"`
	RejectedLines int64 `json:"rejected_lines"`
	OutOfRange    int64 `json:"out_of_range"`
}

// Add adds the counts of o to c.
func (c *Counts) Add(o Counts) {
	c.Objects += o.Objects
	c.Bytes += o.Bytes
	c.Lines += o.Lines
	c.HeaderLines += o.HeaderLines
	c.Rows += o.Rows
	c.RejectedLines += o.RejectedLines
	c.OutOfRange += o.OutOfRange
}

// Balanced reports whether every line is accounted for.
func (c Counts) Balanced() bool {
	return c.Lines == c.HeaderLines+c.Rows+c.RejectedLines+c.OutOfRange
}

// RejectSample is one rejected line, kept to show what went wrong.
type RejectSample struct {
	Object string `json:"object"`
	Line   int64  `json:"line"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail,omitempty"`
	Text   string `json:"text"`
}

// RejectReason counts the lines rejected for one reason.
type RejectReason struct {
	Count   int64          `json:"count"`
	Samples []RejectSample `json:"samples"`
}

// FailedObject is an object that could not be read whole, or an error
// of a source's listing (Object the source, Attempts 0, Error starting
// with "list: ").
type FailedObject struct {
	Object   string `json:"object"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

// listPrefix starts the Error of a listing error.
const listPrefix = "list: "

// Listing tells whether f is an error of a source's listing rather than
// an object.
func (f FailedObject) Listing() bool {
	return f.Attempts == 0 && strings.HasPrefix(f.Error, listPrefix)
}

// Problems says what of the run failed, for messages: "2 objects could
// not be read", "1 listing error", joined by "; ", or "".
func (s *Summary) Problems() string {
	var objects, listings int
	for _, f := range s.Failed {
		if f.Listing() {
			listings++
		} else {
			objects++
		}
	}
	var parts []string
	if objects > 0 {
		parts = append(parts, fmt.Sprintf("%d %s could not be read", objects, plural(objects, "object", "objects")))
	}
	if listings > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", listings, plural(listings, "listing error", "listing errors")))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Summary is the machine-readable account of a run.
type Summary struct {
	Counts
	// Skipped counts objects already ingested (same key, ETag and size).
	Skipped          int64                    `json:"skipped_objects"`
	Retries          int64                    `json:"retries"`
	RejectedByReason map[string]*RejectReason `json:"rejected_by_reason"`
	// UnknownFields counts, per field name that the schema does not know,
	// the header blocks that carried it.
	UnknownFields map[string]int64   `json:"unknown_fields,omitempty"`
	Distributions map[string]*Counts `json:"distributions"`
	Failed        []FailedObject     `json:"failed_objects"`
	// Complete is false when objects failed or rejects passed the limit.
	Complete bool `json:"complete"`
	// UnknownFieldsOmitted counts the mentions of unknown field names
	// past the first logparse.MaxUnknownFields, which UnknownFields does
	// not list.
	UnknownFieldsOmitted int64 `json:"unknown_fields_omitted,omitempty"`
}

// DistributionIDs returns the distribution IDs seen, sorted.
func (s *Summary) DistributionIDs() []string {
	ids := make([]string, 0, len(s.Distributions))
	for id := range s.Distributions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
