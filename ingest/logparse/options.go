package logparse

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/inflate"
)

// Reasons for rejecting a line.
const (
	ReasonFieldCount     = "field_count"     // not as many fields as the header names
	ReasonBadNumber      = "bad_number"      // a numeric field that is not a number
	ReasonBadDate        = "bad_date"        // date not YYYY-MM-DD
	ReasonBadTime        = "bad_time"        // time not HH:MM:SS, or a bad epoch timestamp
	ReasonNoTimestamp    = "no_timestamp"    // neither date and time nor timestamp(ms)
	ReasonLineTooLong    = "line_too_long"   // longer than the line limit
	ReasonInvalidBytes   = "invalid_bytes"   // invalid UTF-8 or NUL bytes
	ReasonEmpty          = "empty_line"      // an empty line
	ReasonBadJSON        = "bad_json"        // a JSON line that is not one flat JSON object
	ReasonDuplicateField = "duplicate_field" // a line under a #Fields header that names a field twice
)

// DefaultBatchRows is the row target of a batch.
const DefaultBatchRows = 64 * 1024

// ErrTooLarge is returned when an object read through Open inflates, or
// a Parquet object is, past the size limit. It is inflate.ErrTooLarge.
var ErrTooLarge = inflate.ErrTooLarge

// DefaultMaxBytes is the default limit on the size of one object read
// through Open (see WithMaxBytes).
const DefaultMaxBytes = inflate.DefaultMaxBytes

// DefaultMaxLineBytes bounds one line. CloudFront caps a logged URL at
// 8 KiB and request headers at 20 KiB, so real lines stay far below it.
const DefaultMaxLineBytes = 256 * 1024

// samplesPerReason is how many rejected lines are kept per reason.
const samplesPerReason = 5

// maxSampleText bounds the text kept of a rejected line.
const maxSampleText = 512

// Sample is one rejected line.
type Sample struct {
	Source string
	Line   int64
	Reason string
	Field  string // the field at fault, if one is
	Detail string
	Text   string // the line, cut to 512 bytes
}

// Stats counts what a Reader has read so far.
type Stats struct {
	Bytes       int64 // bytes of text read
	Lines       int64
	HeaderLines int64
	Rows        int64
	Rejected    int64
	OutOfRange  int64
	// RejectedBy counts rejected lines per reason.
	RejectedBy map[string]int64
	// Samples holds the first rejected lines of each reason.
	Samples []Sample
	// UnknownFields counts, per field name that the schema does not know,
	// the #Fields headers (JSON keys, Parquet columns) that named it. It
	// lists at most MaxUnknownFields names; UnknownFieldsOmitted counts
	// the mentions of the others.
	UnknownFields        map[string]int64
	UnknownFieldsOmitted int64
}

// MaxUnknownFields is how many unknown field names Stats lists, so that a
// header of thousands of made-up names cannot grow memory or flood a
// report.
const MaxUnknownFields = 20

// addUnknownField counts one mention of a field name the schema does not
// know.
func (s *Stats) addUnknownField(name string) {
	if _, ok := s.UnknownFields[name]; ok || len(s.UnknownFields) < MaxUnknownFields {
		s.UnknownFields[name]++
		return
	}
	s.UnknownFieldsOmitted++
}

type options struct {
	source, distribution, role string
	delim                      byte
	batchRows                  int
	maxLine                    int
	columns                    []int
	mem                        memory.Allocator
	from, to                   time.Time
	maxBytes                   int64
	tempDir                    string
	hint                       *SizeHint
	objectBytes                int64
}

// Option configures a Reader.
type Option func(*options)

// WithSource names the object being read; it fills the source column and
// is quoted in rejected-line samples.
func WithSource(key string) Option { return func(o *options) { o.source = key } }

// WithDistribution sets the distribution_id and role columns.
func WithDistribution(id, role string) Option {
	return func(o *options) { o.distribution, o.role = id, role }
}

// WithDelimiter sets the field delimiter. The default (0) detects it per
// header block: the first of TAB, |, ;, comma and space that splits the
// block's first record into as many fields as its #Fields header names
// (v2 W3C output may use any of them; a space is how logs copied out of
// documentation read).
func WithDelimiter(b byte) Option { return func(o *options) { o.delim = b } }

// WithSizeHint shares h among the Readers of a run, and gives the stored
// size of the object (0: unknown): the first batch reserves for the rows
// and text that objects of that size gave so far (see SizeHint).
func WithSizeHint(h *SizeHint, objectBytes int64) Option {
	return func(o *options) { o.hint, o.objectBytes = h, objectBytes }
}

// WithBatchRows sets the row target of a batch.
func WithBatchRows(n int) Option { return func(o *options) { o.batchRows = n } }

// WithMaxLineBytes sets the line limit; longer lines are rejected.
func WithMaxLineBytes(n int) Option { return func(o *options) { o.maxLine = n } }

// WithColumns makes the reader build only these schema columns (indexes
// into schema.Columns()), in this order. Fields that no chosen column
// needs are not converted.
func WithColumns(cols []int) Option { return func(o *options) { o.columns = cols } }

// WithAllocator sets the Arrow allocator.
func WithAllocator(mem memory.Allocator) Option { return func(o *options) { o.mem = mem } }

// WithTimeRange keeps only records with from ≤ timestamp < to (zero
// times mean unbounded); others are counted as out of range.
func WithTimeRange(from, to time.Time) Option {
	return func(o *options) { o.from, o.to = from, to }
}

// WithMaxBytes caps the decompressed size of a text object, or the size
// of a Parquet object, read through Open (0: DefaultMaxBytes); past it
// reading fails with ErrTooLarge.
func WithMaxBytes(n int64) Option { return func(o *options) { o.maxBytes = n } }

// WithTempDir sets the folder of the temporary copy that Open makes of a
// Parquet object it cannot read in place (default: os.TempDir()).
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }
