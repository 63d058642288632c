package logparse

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cflens/cflens/ingest/schema"
)

// maxJSONKeys bounds the keys a reader remembers, against lines of
// ever-new keys.
const maxJSONKeys = 4096

// jsonState is the state a Reader of JSON lines keeps across lines.
type jsonState struct {
	// pos maps a key as written to its schema column or pos* marker.
	// Looking up a map with string(b) does not allocate; a key is
	// converted once, the first time the reader meets it.
	pos map[string]int
	// last holds the keys of the previous line by member index: lines
	// of one object name the same keys in the same order, so most keys
	// are found without hashing.
	last []cachedKey
	// scratch holds the unescaped values of the current line. It is sized
	// to the line before use and never grows while values point into it
	// (unescaping never lengthens a string).
	scratch []byte
}

// NewJSONReader returns a Reader of CloudFront standard logging v2 JSON
// lines: one flat object per line, keys the raw field names as in a
// #Fields header ("cs(Host)", "timestamp(ms)", matched ignoring case),
// values strings ("-" is NULL). Numbers, true and false are taken as their
// text and null as NULL, so that objects rewritten by other tools still
// read. A key the schema does not know is counted once per reader in
// Stats.UnknownFields. A line that is not one flat object is rejected as
// bad_json; the other reasons are those of the W3C reader.
//
// See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
func NewJSONReader(r io.Reader, opts ...Option) *Reader {
	rd := NewReader(r, opts...)
	rd.js = &jsonState{pos: map[string]int{}}
	return rd
}

type cachedKey struct {
	name string
	pos  int
}

// jsonError is a syntax error in a JSON line.
type jsonError struct {
	what string
	at   int
	nul  bool // a value holds an escaped NUL
}

func (e *jsonError) Error() string { return fmt.Sprintf("%s at byte %d", e.what, e.at+1) }

// handleJSON parses one JSON line into the captured values and appends
// the row.
func (r *Reader) handleJSON(line []byte) {
	if r.lineNo == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a byte order mark
	}
	if len(bytes.TrimSpace(line)) == 0 {
		r.reject(ReasonEmpty, "", "", line)
		return
	}
	if bytes.IndexByte(line, 0) >= 0 || !utf8.Valid(line) {
		r.reject(ReasonInvalidBytes, "", "", line)
		return
	}
	r.tsMilli, r.tsSec = nil, nil
	if err := r.scanJSON(line); err != nil {
		r.clearVals()
		if err.nul {
			r.reject(ReasonInvalidBytes, "", err.Error(), line)
			return
		}
		r.reject(ReasonBadJSON, "", err.Error(), line)
		return
	}
	r.row(line)
}

// scanJSON reads a flat JSON object and sets r.vals, r.tsMilli and
// r.tsSec from its members.
func (r *Reader) scanJSON(line []byte) *jsonError {
	js := r.js
	if cap(js.scratch) < len(line) {
		js.scratch = make([]byte, 0, len(line))
	}
	js.scratch = js.scratch[:0]
	i := skipSpace(line, 0)
	if i == len(line) || line[i] != '{' {
		return &jsonError{what: "not a JSON object", at: i}
	}
	i = skipSpace(line, i+1)
	member := 0
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i == len(line) || line[i] != '"' {
				return &jsonError{what: "expected a key", at: i}
			}
			key, next, err := r.jsonString(line, i)
			if err != nil {
				return err
			}
			i = skipSpace(line, next)
			if i == len(line) || line[i] != ':' {
				return &jsonError{what: "expected ':'", at: i}
			}
			i = skipSpace(line, i+1)
			val, next, err := r.jsonValue(line, i)
			if err != nil {
				return err
			}
			r.setJSON(member, key, val)
			member++
			i = skipSpace(line, next)
			if i == len(line) {
				return &jsonError{what: "unterminated object", at: i}
			}
			if line[i] == '}' {
				i++
				break
			}
			if line[i] != ',' {
				return &jsonError{what: "expected ',' or '}'", at: i}
			}
			i = skipSpace(line, i+1)
		}
	}
	if i = skipSpace(line, i); i != len(line) {
		return &jsonError{what: "text after the object", at: i}
	}
	return nil
}

// setJSON stores one member's value where the row conversion finds it.
func (r *Reader) setJSON(member int, key, val []byte) {
	js := r.js
	var c int
	if member < len(js.last) && js.last[member].name == string(key) {
		c = js.last[member].pos
	} else {
		c = r.lookupJSON(key)
		if member < maxJSONKeys {
			for len(js.last) <= member {
				js.last = append(js.last, cachedKey{pos: posUnknown})
			}
			js.last[member] = cachedKey{name: string(key), pos: c}
		}
	}
	switch {
	case c >= 0:
		if r.capture[c] {
			if isNull(val) {
				val = nil
			}
			r.vals[c] = val
		}
	case c == posTsMilli:
		r.tsMilli = val
	case c == posTsSec:
		r.tsSec = val
	}
}

// lookupJSON maps a key to its column or pos* marker, counting keys the
// schema does not know once.
func (r *Reader) lookupJSON(key []byte) int {
	c, ok := r.js.pos[string(key)]
	if !ok {
		name := string(key)
		c = schema.Lookup(name)
		if c < 0 {
			if ok, ms := schema.IsTimestampField(name); ok {
				c = posTsSec
				if ms {
					c = posTsMilli
				}
			} else {
				c = posUnknown
				r.stats.addUnknownField(name)
			}
		}
		if len(r.js.pos) < maxJSONKeys {
			r.js.pos[name] = c
		}
	}
	return c
}

// jsonValue reads the value at line[i]: a string, a number, true, false
// or null (a nil value). Objects and arrays are not log values.
func (r *Reader) jsonValue(line []byte, i int) (val []byte, next int, err *jsonError) {
	if i == len(line) {
		return nil, i, &jsonError{what: "expected a value", at: i}
	}
	switch c := line[i]; {
	case c == '"':
		return r.jsonString(line, i)
	case c == '-' || ('0' <= c && c <= '9'):
		j := i + 1
		for j < len(line) && isNumberByte(line[j]) {
			j++
		}
		return line[i:j], j, nil
	case c == 'n':
		if bytes.HasPrefix(line[i:], []byte("null")) {
			return nil, i + 4, nil
		}
	case c == 't':
		if bytes.HasPrefix(line[i:], []byte("true")) {
			return line[i : i+4], i + 4, nil
		}
	case c == 'f':
		if bytes.HasPrefix(line[i:], []byte("false")) {
			return line[i : i+5], i + 5, nil
		}
	case c == '{' || c == '[':
		return nil, i, &jsonError{what: "nested value", at: i}
	}
	return nil, i, &jsonError{what: "bad value", at: i}
}

func isNumberByte(c byte) bool {
	return ('0' <= c && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// jsonString reads the string starting with the quote at line[i]. A string
// without escapes is returned as a slice of line; one with escapes is
// unescaped into the scratch buffer.
func (r *Reader) jsonString(line []byte, i int) (val []byte, next int, err *jsonError) {
	start := i + 1
	j := start
	for j < len(line) {
		c := line[j]
		if c == '"' {
			return line[start:j], j + 1, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, j, &jsonError{what: "control character in a string", at: j}
		}
		j++
	}
	if j == len(line) {
		return nil, j, &jsonError{what: "unterminated string", at: i}
	}
	js := r.js
	from := len(js.scratch)
	buf := append(js.scratch, line[start:j]...)
	for j < len(line) {
		c := line[j]
		switch {
		case c == '"':
			js.scratch = buf
			v := buf[from:]
			if bytes.IndexByte(v, 0) >= 0 {
				return nil, j, &jsonError{what: "NUL in a value", at: j, nul: true}
			}
			return v, j + 1, nil
		case c < 0x20:
			return nil, j, &jsonError{what: "control character in a string", at: j}
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 == len(line) {
			break
		}
		switch e := line[j+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			ru, n := decodeU(line[j:])
			if n == 0 {
				return nil, j, &jsonError{what: "bad \\u escape", at: j}
			}
			buf = utf8.AppendRune(buf, ru)
			j += n
			continue
		default:
			return nil, j, &jsonError{what: "bad escape", at: j}
		}
		j += 2
	}
	return nil, j, &jsonError{what: "unterminated string", at: i}
}

// decodeU decodes \uXXXX (and a following low surrogate) at the start of
// b; it returns the rune and the bytes used, 0 for a malformed escape. A
// lone surrogate becomes U+FFFD, as in encoding/json.
func decodeU(b []byte) (rune, int) {
	r1, ok := hex4(b)
	if !ok {
		return 0, 0
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6
	}
	if r2, ok := hex4(b[6:]); ok && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
		if ru := utf16.DecodeRune(r1, r2); ru != utf8.RuneError {
			return ru, 12
		}
	}
	return utf8.RuneError, 6
}

// hex4 reads \uXXXX at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var v rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
