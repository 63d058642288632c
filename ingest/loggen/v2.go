package loggen

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Standard logging v2 (logs delivered through CloudWatch vended logs)
// writes the fields a user picks, in the order picked, as JSON lines, W3C
// or plain text with a chosen delimiter, or Parquet, under a path with the
// distribution ID and the hour. The writers here produce the same records
// as the legacy files, so that a parser can be checked to give the same
// rows from every format:
//
//   - JSON: one object per line, keys the raw field names ("cs(Host)",
//     "timestamp(ms)"), every value a string, "-" kept as logged.
//   - W3C: "#Version: 1.0" and "#Fields:" naming the chosen fields, then
//     the values joined by the delimiter.
//   - Parquet: one string column per field, values as logged ("-" kept),
//     Snappy-compressed. Column names are the raw field names with "-"
//     and "(" turned into "_" and ")" dropped, case kept: "cs_Host",
//     "cs_User_Agent", "x_edge_location", "timestamp_ms". (Parquet readers
//     such as Athena cannot take the raw names; CloudFront's own naming
//     is not documented, and the project's schema.Lookup accepts any
//     case.)
//
// Objects are named <ID>.YYYY-MM-DD-HH.<unique>.gz (.parquet for
// Parquet), under AWSLogs/<account>/CloudFront/ then either the
// Hive-style DistributionId=<ID>/year=YYYY/month=MM/day=DD/hour=HH/ or
// the templated <ID>/YYYY/MM/DD/HH/ folders.

// V2 field names that are not legacy fields.
const (
	FieldTimestampMS = "timestamp(ms)" // epoch milliseconds
	FieldTimestamp   = "timestamp"     // epoch seconds with milliseconds, e.g. 1757462400.123
)

// V2Options configures the standard logging v2 outputs.
type V2Options struct {
	// Fields are the raw field names to write, in order (default: the 33
	// legacy fields). Besides the legacy names, FieldTimestampMS and
	// FieldTimestamp are known. Note that the legacy date and time fields
	// stop at seconds while the timestamps carry milliseconds.
	Fields []string
	// Delimiter separates W3C values (default TAB). It must not occur in
	// any value: TAB and space are safe, a comma is not (user agents hold
	// commas).
	Delimiter byte
	// Templated selects <ID>/YYYY/MM/DD/HH/ folders instead of the
	// Hive-style DistributionId=<ID>/year=…/ ones.
	Templated bool
	// AccountID is the account in the AWSLogs/<account>/CloudFront/ prefix
	// (default 123456789012).
	AccountID string
	// Allocator serves the Arrow memory of the Parquet writer (default
	// memory.DefaultAllocator).
	Allocator memory.Allocator
}

// fieldTimestampMS and fieldTimestamp mark the computed fields in
// v2Writer.src.
const (
	srcTimestampMS = -1
	srcTimestamp   = -2
)

type v2Writer struct {
	format Format
	opts   V2Options
	names  []string
	src    []int // legacy field index of each chosen field, or srcTimestamp*
	header []byte
	schema *arrow.Schema
	fields [NumFields][]byte
	buf    []byte
}

func newV2Writer(f Format, o V2Options) (*v2Writer, error) {
	switch f {
	case V2JSON, V2W3C, V2Parquet:
	default:
		return nil, fmt.Errorf("unknown output format %s", f)
	}
	if o.Delimiter == 0 {
		o.Delimiter = '\t'
	}
	if o.Delimiter == '\n' || o.Delimiter == '\r' {
		return nil, fmt.Errorf("v2 delimiter %q cannot separate values", o.Delimiter)
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	names := o.Fields
	if len(names) == 0 {
		names = legacyFields[:]
	}
	w := &v2Writer{format: f, opts: o, names: names, src: make([]int, len(names))}
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("v2 field %q chosen twice", n)
		}
		seen[n] = true
		switch n {
		case FieldTimestampMS:
			w.src[i] = srcTimestampMS
			continue
		case FieldTimestamp:
			w.src[i] = srcTimestamp
			continue
		}
		j := -1
		for k, lf := range legacyFields {
			if lf == n {
				j = k
			}
		}
		if j < 0 {
			return nil, fmt.Errorf("v2 field %q unknown to the generator", n)
		}
		w.src[i] = j
	}
	switch f {
	case V2W3C:
		w.header = []byte("#Version: 1.0\n#Fields: " + strings.Join(names, " ") + "\n")
	case V2Parquet:
		fs := make([]arrow.Field, len(names))
		for i, n := range names {
			fs[i] = arrow.Field{Name: ParquetColumnName(n), Type: arrow.BinaryTypes.String, Nullable: true}
		}
		w.schema = arrow.NewSchema(fs, nil)
	}
	return w, nil
}

// ParquetColumnName returns the column name the Parquet writer gives a raw
// field name: "cs(User-Agent)" → "cs_User_Agent".
func ParquetColumnName(field string) string {
	r := strings.NewReplacer("-", "_", "(", "_", ")", "")
	return r.Replace(field)
}

// key returns the object key (without the output prefix) of a file.
func (w *v2Writer) key(id string, hour time.Time, base string) string {
	if w.format == V2Parquet {
		base = strings.TrimSuffix(base, ".gz") + ".parquet"
	}
	h := hour.UTC()
	var dir string
	if w.opts.Templated {
		dir = fmt.Sprintf("%s/%04d/%02d/%02d/%02d/", id, h.Year(), h.Month(), h.Day(), h.Hour())
	} else {
		dir = fmt.Sprintf("DistributionId=%s/year=%04d/month=%02d/day=%02d/hour=%02d/", id, h.Year(), h.Month(), h.Day(), h.Hour())
	}
	return "AWSLogs/" + w.opts.AccountID + "/CloudFront/" + dir + base
}

// gzip tells whether objects are gzip-compressed (text formats); Parquet
// compresses its own pages.
func (w *v2Writer) gzip() bool { return w.format != V2Parquet }

// splitRecord points w.fields at the fields of record i of l.
func (w *v2Writer) splitRecord(l *lines, i int) {
	line := l.line(i)
	for k := range NumFields - 1 {
		j := bytes.IndexByte(line, '\t')
		w.fields[k], line = line[:j], line[j+1:]
	}
	w.fields[NumFields-1] = line
}

// appendValue appends chosen field k of the current record of l.
func (w *v2Writer) appendValue(b []byte, l *lines, i, k int) []byte {
	switch s := w.src[k]; s {
	case srcTimestampMS:
		return strconv.AppendInt(b, l.ts[i], 10)
	case srcTimestamp:
		b = strconv.AppendInt(b, l.ts[i]/1000, 10)
		b = append(b, '.')
		ms := l.ts[i] % 1000
		b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
		return b
	default:
		return append(b, w.fields[s]...)
	}
}

func (w *v2Writer) write(dst io.Writer, l *lines, idx []int) error {
	switch w.format {
	case V2JSON:
		return w.writeText(dst, l, idx, w.appendJSON)
	case V2W3C:
		return w.writeText(dst, l, idx, w.appendW3C)
	default:
		return w.writeParquet(dst, l, idx)
	}
}

func (w *v2Writer) writeText(dst io.Writer, l *lines, idx []int, line func([]byte, *lines, int) ([]byte, error)) error {
	b := append(w.buf[:0], w.header...)
	var err error
	for _, i := range idx {
		w.splitRecord(l, i)
		if b, err = line(b, l, i); err != nil {
			return err
		}
		if len(b) >= 60<<10 {
			if _, err := dst.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	w.buf = b[:0]
	_, err = dst.Write(b)
	return err
}

func (w *v2Writer) appendW3C(b []byte, l *lines, i int) ([]byte, error) {
	for k := range w.names {
		if k > 0 {
			b = append(b, w.opts.Delimiter)
		}
		start := len(b)
		b = w.appendValue(b, l, i, k)
		if bytes.IndexByte(b[start:], w.opts.Delimiter) >= 0 {
			return nil, fmt.Errorf("value %q of %s holds the delimiter %q", b[start:], w.names[k], w.opts.Delimiter)
		}
	}
	return append(b, '\n'), nil
}

func (w *v2Writer) appendJSON(b []byte, l *lines, i int) ([]byte, error) {
	b = append(b, '{')
	var v []byte
	for k, n := range w.names {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, []byte(n))
		b = append(b, ':')
		v = w.appendValue(v[:0], l, i, k)
		b = appendJSONString(b, v)
	}
	return append(b, '}', '\n'), nil
}

// appendJSONString appends s as a JSON string. Logged values are
// printable ASCII, but a backslash (x-forwarded-for's literal \x20) and
// quotes need escaping.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func (w *v2Writer) writeParquet(dst io.Writer, l *lines, idx []int) error {
	mem := w.opts.Allocator
	bld := array.NewRecordBuilder(mem, w.schema)
	defer bld.Release()
	cols := make([]*array.StringBuilder, len(w.names))
	for k := range cols {
		cols[k] = bld.Field(k).(*array.StringBuilder)
		cols[k].Reserve(len(idx))
	}
	var v []byte
	for _, i := range idx {
		w.splitRecord(l, i)
		for k := range w.names {
			v = w.appendValue(v[:0], l, i, k)
			cols[k].BinaryBuilder.Append(v)
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true),
	)
	// Hide dst's Close: the Parquet writer closes a sink that has one, and
	// the caller closes dst itself.
	fw, err := pqarrow.NewFileWriter(w.schema, struct{ io.Writer }{dst}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return fmt.Errorf("open parquet writer: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return fmt.Errorf("write parquet: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("close parquet: %w", err)
	}
	return nil
}
