package logparse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/schema"
)

// readerBufSize is the size of a Reader's line buffer. Lines longer than
// it are gathered in Reader.long (see readLine), so it need not hold the
// longest line allowed.
const readerBufSize = 64 * 1024

// initialReserve is the capacity builders start a batch with; they grow
// as rows come, so many small objects do not each pay for a full batch.
const initialReserve = 256

// maxBatchBytes bounds the raw bytes behind one batch, so that long lines
// cannot overflow 32-bit string offsets or grow memory.
const maxBatchBytes = 64 << 20

// Field positions that feed the computed timestamp but have no column.
const (
	posUnknown = -1
	posTsMilli = -2
	posTsSec   = -3
)

// takeField is a field position and the schema column (or pos*) its value
// goes to.
type takeField struct{ i, c int }

// Reader reads log lines into record batches.
type Reader struct {
	o      options
	br     *bufio.Reader
	schema *arrow.Schema
	cols   []int // schema column of each output column
	// out maps a schema column to its output column, or -1.
	out [schema.NumColumns]int
	// capture tells which schema columns the line loop must look at: the
	// output columns plus date and time, which the timestamp needs.
	capture [schema.NumColumns]bool
	apps    []appender // one per output column
	fill    fillers    // the same appenders, by how a row fills them

	// State of the current header block.
	fields   []int // schema column (or pos*) of each field position
	haveHdr  bool
	delim    byte
	delimSet bool
	legacy   []int
	fromMS   int64
	toMS     int64
	hasFrom  bool
	hasTo    bool
	vals     [schema.NumColumns][]byte
	tsMilli  []byte
	tsSec    []byte
	rowBytes int
	lastRows int  // rows of the previous batch
	observed bool // the size hint was told (see observe)
	rows     int
	batch    arrow.RecordBatch
	err      error
	stats    Stats
	lineNo   int64
	long     []byte // accumulates a line longer than the buffer
	eof      bool
	delimPos []int // delimiter offsets of the current line
	// take lists the fields the line loop takes, for lines of takeN
	// fields under the current header block (-1: not yet listed).
	take  []takeField
	takeN int
	// lastDate is the last date parsed, lastDay its day number.
	lastDate   [10]byte
	lastDay    int32
	lastDateOK bool
	// dupField names the field that the current #Fields header names
	// twice, and dupDetail says where; the block's lines are rejected
	// (see header).
	dupField, dupDetail string
	// js is set for a JSON-lines reader (see NewJSONReader).
	js *jsonState
}

// NewReader returns a Reader of the plain text in r.
func NewReader(r io.Reader, opts ...Option) *Reader {
	o := options{batchRows: DefaultBatchRows, maxLine: DefaultMaxLineBytes, mem: memory.DefaultAllocator}
	for _, opt := range opts {
		opt(&o)
	}
	if o.batchRows <= 0 {
		o.batchRows = DefaultBatchRows
	}
	if o.maxLine <= 0 {
		o.maxLine = DefaultMaxLineBytes
	}
	if o.columns == nil {
		o.columns = make([]int, schema.NumColumns)
		for i := range o.columns {
			o.columns[i] = i
		}
	}
	rd := &Reader{
		o:      o,
		br:     bufio.NewReaderSize(r, readerBufSize),
		legacy: schema.LegacyOrder(),
		delim:  o.delim,
		takeN:  -1,
	}
	rd.delimSet = o.delim != 0
	if !rd.delimSet {
		rd.delim = '\t'
	}
	if !o.from.IsZero() {
		rd.fromMS, rd.hasFrom = o.from.UnixMilli(), true
	}
	if !o.to.IsZero() {
		rd.toMS, rd.hasTo = o.to.UnixMilli(), true
	}
	for i := range rd.out {
		rd.out[i] = -1
	}
	fs := make([]arrow.Field, len(o.columns))
	full := schema.Arrow()
	for i, c := range o.columns {
		rd.out[c] = i
		rd.capture[c] = true
		fs[i] = full.Field(c)
	}
	rd.capture[schema.Date_] = true
	rd.capture[schema.Time] = true
	rd.cols = o.columns
	rd.schema = arrow.NewSchema(fs, nil)
	rd.apps = make([]appender, len(o.columns))
	for i, c := range o.columns {
		rd.apps[i] = newAppender(o.mem, c)
		rd.fill.add(c, rd.apps[i])
	}
	rd.stats.RejectedBy = map[string]int64{}
	rd.stats.UnknownFields = map[string]int64{}
	return rd
}

// Schema returns the schema of the batches.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next reads the next batch; it returns false at the end of the input or
// on an I/O error (see Err).
func (r *Reader) Next() bool {
	if r.batch != nil {
		r.batch.Release()
		r.batch = nil
	}
	if r.err != nil {
		return false
	}
	for !r.eof && r.rows < r.o.batchRows && r.rowBytes < maxBatchBytes {
		line, err := r.readLine()
		if line != nil {
			if r.js != nil {
				r.handleJSON(line)
			} else {
				r.handle(line)
			}
		}
		if err != nil {
			if err != io.EOF {
				r.err = err
				return false
			}
			r.eof = true
		}
	}
	if r.rows == 0 {
		r.observe()
		return false
	}
	r.flush()
	return true
}

// observe tells the run's size hint, once, what the object held.
func (r *Reader) observe() {
	if r.o.hint == nil || !r.eof || r.observed {
		return
	}
	r.observed = true
	var text [schema.NumColumns]int64
	for i, c := range r.cols {
		if s, ok := r.apps[i].(*stringAppender); ok {
			text[c] = s.total
		}
	}
	r.o.hint.observe(r.o.objectBytes, r.stats.Rows, &text)
}

// Batch returns the current batch, valid until the next call to Next or
// Release. Retain it to keep it longer.
func (r *Reader) Batch() arrow.RecordBatch { return r.batch }

// Err returns the I/O error that stopped the reader, if any.
func (r *Reader) Err() error { return r.err }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Release frees the reader's buffers and its current batch.
func (r *Reader) Release() {
	if r.batch != nil {
		r.batch.Release()
		r.batch = nil
	}
	for _, a := range r.apps {
		a.release()
	}
	r.apps = nil
}

// readLine returns the next line without its line end, or nil for a
// line rejected as too long.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Longer than the buffer: gather it, up to the limit, then skip
		// the rest of it.
		r.long = append(r.long[:0], line...)
		n := int64(len(line))
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			n += int64(len(line))
			if len(r.long) <= r.o.maxLine+2 {
				r.long = append(r.long, line...)
			}
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		line = r.long
		if n > int64(r.o.maxLine)+2 {
			r.stats.Bytes += n
			r.lineNo++
			r.stats.Lines++
			r.reject(ReasonLineTooLong, "", fmt.Sprintf("%d bytes", n), line)
			return nil, err
		}
	}
	if len(line) == 0 {
		return nil, err
	}
	r.stats.Bytes += int64(len(line))
	if err == nil || line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	r.lineNo++
	r.stats.Lines++
	if len(line) > r.o.maxLine {
		r.reject(ReasonLineTooLong, "", fmt.Sprintf("%d bytes", len(line)), line)
		return nil, err
	}
	return line, err
}

func (r *Reader) reject(reason, field, detail string, line []byte) {
	r.stats.Rejected++
	n := r.stats.RejectedBy[reason]
	r.stats.RejectedBy[reason] = n + 1
	if n < samplesPerReason {
		text := line
		if len(text) > maxSampleText {
			text = text[:maxSampleText]
		}
		r.stats.Samples = append(r.stats.Samples, Sample{
			Source: r.o.source, Line: r.lineNo, Reason: reason,
			Field: field, Detail: detail, Text: sampleText(text),
		})
	}
}

// sampleText makes the kept text of a rejected line valid UTF-8 without
// NUL bytes; renderers escape the rest.
func sampleText(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// handle classifies one line and appends it as a row when it is one.
func (r *Reader) handle(line []byte) {
	if len(line) == 0 {
		r.reject(ReasonEmpty, "", "", line)
		return
	}
	if line[0] == '#' {
		r.stats.HeaderLines++
		r.header(line)
		return
	}
	if r.dupField != "" {
		r.reject(ReasonDuplicateField, r.dupField, r.dupDetail, line)
		return
	}
	if !r.delimSet {
		if bytes.IndexByte(line, 0) >= 0 || !utf8.Valid(line) {
			r.reject(ReasonInvalidBytes, "", "", line)
			return
		}
		r.delim, r.delimSet = r.detectDelimiter(line)
	}
	// Split: the offset of every delimiter (fields beyond the header's
	// only count).
	pos, ok := splitLine(line, r.delim, r.delimPos[:0])
	r.delimPos = pos
	if !ok {
		r.reject(ReasonInvalidBytes, "", "", line)
		return
	}
	parts := len(pos) + 1
	n := parts
	// A trailing delimiter leaves an empty last field.
	emptyLast := len(pos) > 0 && pos[len(pos)-1] == len(line)-1
	fields := r.fields
	if !r.haveHdr {
		// No header: the canonical order cut to the field count.
		if n > 1 && emptyLast {
			n--
		}
		if n < minLegacyFields || n > len(r.legacy) {
			r.reject(ReasonFieldCount, "", fmt.Sprintf("%d fields and no #Fields header", parts), line)
			return
		}
		fields = r.legacy[:n]
	} else {
		if n == len(fields)+1 && emptyLast {
			n-- // a trailing delimiter
		}
		if n != len(fields) {
			r.reject(ReasonFieldCount, "", fmt.Sprintf("%d fields, header names %d", parts, len(fields)), line)
			return
		}
	}
	if r.takeN != n {
		r.setTake(fields[:n])
	}
	// The loop sets the same values on every line of this field count,
	// and setTake cleared the others, so no line leaves a value behind
	// and the values need no clearing per line.
	for _, f := range r.take {
		start := 0
		if f.i > 0 {
			start = pos[f.i-1] + 1
		}
		end := len(line)
		if f.i < len(pos) {
			end = pos[f.i]
		}
		v := line[start:end:end]
		switch {
		case f.c >= 0:
			if len(v) == 1 && v[0] == '-' {
				v = nil
			}
			r.vals[f.c] = v
		case f.c == posTsMilli:
			r.tsMilli = v
		case f.c == posTsSec:
			r.tsSec = v
		}
	}
	r.appendRow(line)
}

// setTake lists the field positions whose values the line loop takes:
// captured columns and the epoch timestamps. It clears the values, which
// the line loop then sets for the listed fields only.
func (r *Reader) setTake(fields []int) {
	r.clearVals()
	r.take = r.take[:0]
	for i, c := range fields {
		if (c >= 0 && r.capture[c]) || c == posTsMilli || c == posTsSec {
			r.take = append(r.take, takeField{i, c})
		}
	}
	r.takeN = len(fields)
}

// parseDate is parseDate with the last date remembered: the lines of a
// log file nearly all carry the same date.
func (r *Reader) parseDate(d []byte) (int32, bool) {
	if r.lastDateOK && string(d) == string(r.lastDate[:]) {
		return r.lastDay, true
	}
	day, ok := parseDate(d)
	if ok {
		copy(r.lastDate[:], d) // parseDate takes only 10 bytes
		r.lastDay, r.lastDateOK = day, true
	}
	return day, ok
}

// row appends the captured values of one record (see appendRow) and
// clears them for the next.
func (r *Reader) row(line []byte) {
	r.appendRow(line)
	r.clearVals()
}

// appendRow converts the captured values of one record and appends them;
// on a conversion error it rejects the line and appends nothing.
func (r *Reader) appendRow(line []byte) {
	var tsMS int64
	var day int32
	var haveDay bool
	switch {
	case r.tsMilli != nil && !isNull(r.tsMilli):
		v, ok := parseInt(r.tsMilli)
		if !ok {
			r.reject(ReasonBadTime, schema.LogTimestampMS, "", line)
			return
		}
		tsMS = v
	case r.tsSec != nil && !isNull(r.tsSec):
		f, ok := parseFloat(r.tsSec)
		if !ok {
			r.reject(ReasonBadTime, schema.LogTimestamp, "", line)
			return
		}
		tsMS = int64(f*1000 + 0.5)
	default:
		d, t := r.vals[schema.Date_], r.vals[schema.Time]
		if d == nil || t == nil {
			r.reject(ReasonNoTimestamp, "", "", line)
			return
		}
		dd, ok := r.parseDate(d)
		if !ok {
			r.reject(ReasonBadDate, "date", "", line)
			return
		}
		secs, ok := parseTime(t)
		if !ok {
			r.reject(ReasonBadTime, "time", "", line)
			return
		}
		day, haveDay = dd, true
		tsMS = int64(dd)*86400000 + int64(secs)*1000
	}
	if !haveDay {
		if d := r.vals[schema.Date_]; d != nil {
			dd, ok := r.parseDate(d)
			if !ok {
				r.reject(ReasonBadDate, "date", "", line)
				return
			}
			day = dd
		} else {
			day = int32(floorDiv(tsMS, 86400000))
		}
	}
	// Convert the numeric output columns before appending anything.
	for _, f := range r.fill.nums {
		if v := r.vals[f.c]; v != nil {
			if err := f.a.check(v); err != nil {
				r.reject(ReasonBadNumber, schema.Col(f.c).LogName, err.Error(), line)
				return
			}
		}
	}
	if (r.hasFrom && tsMS < r.fromMS) || (r.hasTo && tsMS >= r.toMS) {
		r.stats.OutOfRange++
		return
	}
	if r.rows == 0 {
		// Size the batch like the previous one: a long object's batches
		// then fill without regrowing their buffers. The first batch is
		// sized like the objects read before, when a hint has them.
		n := min(r.o.batchRows, max(initialReserve, r.lastRows))
		if r.lastRows == 0 && r.o.hint != nil {
			if rows, text := r.o.hint.estimate(r.o.objectBytes, r.o.batchRows, maxBatchBytes); rows > n {
				n = rows
				for i, c := range r.cols {
					if s, ok := r.apps[i].(*stringAppender); ok {
						s.lastData = int(text[c] * float64(rows))
					}
				}
			}
		}
		for _, a := range r.apps {
			a.reserve(n)
		}
	}
	r.appendValues(tsMS, day)
	r.rows++
	r.rowBytes += len(line)
	r.stats.Rows++
}

// appendValues appends a row whose numbers check has parsed.
func (r *Reader) appendValues(tsMS int64, day int32) {
	f := &r.fill
	for _, a := range f.ts {
		a.put(arrow.Timestamp(tsMS))
	}
	for _, a := range f.dates {
		a.put(arrow.Date32(day))
	}
	for _, a := range f.lines {
		a.put(r.lineNo) // never null
	}
	for _, x := range f.nums {
		if v := r.vals[x.c]; v != nil {
			x.a.append(v)
		} else {
			x.a.appendNull()
		}
	}
	for _, x := range f.dicts {
		if v := r.vals[x.c]; v != nil {
			x.a.append(v)
		} else {
			x.a.appendNull()
		}
	}
	for _, x := range f.strs {
		if v := r.vals[x.c]; v != nil {
			x.a.append(v)
		} else {
			x.a.appendNull()
		}
	}
}

func (r *Reader) clearVals() {
	for _, c := range r.cols {
		r.vals[c] = nil
	}
	r.vals[schema.Date_], r.vals[schema.Time] = nil, nil
	r.tsMilli, r.tsSec = nil, nil
}

// delimiters are the field delimiters a header block is tried with, in
// order of preference: TAB (legacy logs and the v2 default), then the
// others a v2 W3C output may be set to. Values can hold spaces, commas
// and semicolons (x-forwarded-for lists, cookies, user agents), so a
// delimiter is taken only when it splits a record into exactly the
// fields the header names.
var delimiters = [...]byte{'\t', '|', ';', ',', ' '}

// legacyDelimiters are those tried for lines without a #Fields header,
// which only legacy logs (TAB) and logs copied out of documentation
// (space) have; a count check there is loose (any count the legacy order
// allows), so the other candidates come after them.
var legacyDelimiters = [...]byte{'\t', ' ', '|', ';', ','}

// detectDelimiter picks the delimiter of the current header block from
// one record: the first of delimiters that splits it into as many fields
// as the #Fields header names (a trailing delimiter allowed), or, with no
// header, the first of legacyDelimiters that splits it into a count the
// legacy field order allows. When none does, it returns the delimiter
// that reports the record's field count best (TAB, or a space for a
// record without TAB) and false, so that the next record is tried again;
// the record itself is then rejected as field_count.
func (r *Reader) detectDelimiter(line []byte) (byte, bool) {
	cands := delimiters[:]
	if !r.haveHdr {
		cands = legacyDelimiters[:]
	}
	for _, d := range cands {
		n := bytes.Count(line, []byte{d}) + 1
		trailing := n > 1 && line[len(line)-1] == d
		if r.haveHdr {
			if n == len(r.fields) || (trailing && n == len(r.fields)+1) {
				return d, true
			}
			continue
		}
		if trailing {
			n--
		}
		if n >= minLegacyFields && n <= len(r.legacy) {
			return d, true
		}
	}
	if bytes.IndexByte(line, '\t') < 0 && bytes.IndexByte(line, ' ') >= 0 {
		return ' ', false
	}
	return '\t', false
}

// minLegacyFields is the fewest fields a line without a #Fields header
// may have: the canonical order cut to it still holds the status and
// the user agent.
const minLegacyFields = 12

// isNameSeparator tells the bytes that separate the names of a #Fields
// header: white space, as CloudFront writes it, and the delimiters a v2
// output may use, which no field name contains.
func isNameSeparator(c rune) bool {
	switch c {
	case '|', ';', ',':
		return true
	}
	return unicode.IsSpace(c)
}

// header handles a line starting with '#'. A #Fields header starts a
// block: its names map the fields of the lines that follow. A header
// that names one field twice (two names of one column, or of one
// timestamp) cannot say which value to take, so the lines of its block
// are rejected as duplicate_field.
func (r *Reader) header(line []byte) {
	const fieldsTag = "#Fields:"
	if !bytes.HasPrefix(line, []byte(fieldsTag)) {
		return // #Version and comments
	}
	names := bytes.FieldsFunc(line[len(fieldsTag):], isNameSeparator)
	r.fields = r.fields[:0]
	r.takeN = -1
	r.dupField, r.dupDetail = "", ""
	var seen [schema.NumColumns]int // position+1 of the field of each column
	var seenTs [2]int               // the same for timestamp(ms) and timestamp
	for i, nb := range names {
		name := string(nb)
		c := schema.Lookup(name)
		if c < 0 {
			if ok, ms := schema.IsTimestampField(name); ok {
				if ms {
					c = posTsMilli
				} else {
					c = posTsSec
				}
			} else {
				r.stats.addUnknownField(name)
				c = posUnknown
			}
		} else if schema.Col(c).LogName == "" {
			c = posUnknown
		}
		var first *int
		switch {
		case c >= 0:
			first = &seen[c]
		case c == posTsMilli:
			first = &seenTs[0]
		case c == posTsSec:
			first = &seenTs[1]
		}
		if first != nil {
			if *first > 0 && r.dupField == "" {
				r.dupField = name
				r.dupDetail = fmt.Sprintf("#Fields names %s twice (fields %d and %d)", name, *first, i+1)
			}
			*first = i + 1
		}
		r.fields = append(r.fields, c)
	}
	r.haveHdr = true
	if r.o.delim == 0 {
		// Each header block may come from a differently delimited file.
		r.delimSet, r.delim = false, '\t'
	}
}

// flush builds the batch from the appenders.
func (r *Reader) flush() {
	arrs := make([]arrow.Array, len(r.apps))
	for i, c := range r.cols {
		switch c {
		case schema.DistributionID:
			arrs[i] = constDict(r.o.mem, r.o.distribution, r.rows)
		case schema.Role:
			arrs[i] = constDict(r.o.mem, r.o.role, r.rows)
		case schema.Source:
			arrs[i] = constDict(r.o.mem, r.o.source, r.rows)
		default:
			arrs[i] = r.apps[i].newArray()
		}
	}
	r.batch = array.NewRecordBatch(r.schema, arrs, int64(r.rows))
	for _, a := range arrs {
		a.Release()
	}
	r.lastRows = r.rows
	r.rows, r.rowBytes = 0, 0
}

// constDict builds a dictionary array of n copies of s (NULL when s is
// empty). The indices, all 0, are written directly: appending them to a
// dictionary builder would convert and copy them twice.
func constDict(mem memory.Allocator, s string, n int) arrow.Array {
	dt := schema.ArrowType(schema.DictString).(*arrow.DictionaryType)
	if s == "" {
		b := array.NewDictionaryBuilder(mem, dt)
		defer b.Release()
		b.AppendNulls(n)
		return b.NewArray()
	}
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.Append(s)
	dict := sb.NewArray()
	defer dict.Release()
	idx := memory.NewResizableBuffer(mem)
	defer idx.Release()
	idx.Resize(n * arrow.Int32SizeBytes)
	memory.Set(idx.Bytes(), 0)
	return newDictArray(mem, dt, n, idx, &nullRuns{}, dict)
}

func isNull(v []byte) bool { return len(v) == 1 && v[0] == '-' }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// errBadNumber is returned by appenders' check.
var errBadNumber = errors.New("not a number")
