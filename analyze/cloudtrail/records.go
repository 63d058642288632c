package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Record is the part of a CloudTrail record that the timeline needs. Field
// names are matched without regard to case, as encoding/json does.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
type Record struct {
	EventVersion string `json:"eventVersion"`
	EventTime    string `json:"eventTime"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	EventID      string `json:"eventID"`
	AWSRegion    string `json:"awsRegion"`
	// ErrorCode and ErrorMessage are present when the call failed.
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	// RequestParameters and ResponseElements are kept raw and decoded only
	// for the events the timeline uses.
	RequestParameters json.RawMessage `json:"requestParameters"`
	ResponseElements  json.RawMessage `json:"responseElements"`
}

// ErrNotCloudTrail is returned for a file that is not a JSON object (or
// array) of records.
var ErrNotCloudTrail = errors.New("not a CloudTrail log file")

// Reader reads the records of one CloudTrail log file, {"Records": [...]},
// one at a time with the token API of encoding/json, so that a large file
// is never held whole. A bare JSON array of records is read too. Members
// other than Records are skipped.
type Reader struct {
	dec *json.Decoder
	// state: 0 before the first token, 1 inside the records array, 2 done.
	state int
	// bare is true when the file is an array of records, not an object.
	bare bool
	rec  Record
	err  error
	// Records counts the records read; Malformed counts those that were
	// valid JSON but not records (a number, a field of the wrong type).
	Records   int64
	Malformed int64
	// FirstMalformed describes the first malformed record.
	FirstMalformed string
}

// NewReader returns a reader of the records in r (plain JSON text; the
// caller removes gzip).
func NewReader(r io.Reader) *Reader {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &Reader{dec: dec}
}

// Next advances to the next record, reporting false at the end or on an
// error (see Err).
func (r *Reader) Next() bool {
	if r.err != nil || r.state == 2 {
		return false
	}
	if r.state == 0 {
		if err := r.start(); err != nil {
			r.fail(err)
			return false
		}
		if r.state == 2 {
			return false
		}
	}
	for {
		if !r.dec.More() {
			// End of the records array.
			if _, err := r.dec.Token(); err != nil {
				r.fail(err)
				return false
			}
			if r.bare {
				r.state = 2
				return r.finish()
			}
			if err := r.skipMembers(); err != nil {
				r.fail(err)
				return false
			}
			return false
		}
		r.rec = Record{}
		err := r.dec.Decode(&r.rec)
		var typeErr *json.UnmarshalTypeError
		switch {
		case err == nil:
			r.Records++
			return true
		case errors.As(err, &typeErr):
			// A value of the wrong type is read to its end: the stream
			// goes on with the next record.
			r.Records++
			r.Malformed++
			if r.FirstMalformed == "" {
				r.FirstMalformed = fmt.Sprintf("record %d: %v", r.Records, err)
			}
			continue
		default:
			r.fail(err)
			return false
		}
	}
}

// start reads up to the first record.
func (r *Reader) start() error {
	tok, err := r.dec.Token()
	if err != nil {
		if err == io.EOF {
			return fmt.Errorf("empty file: %w", ErrNotCloudTrail)
		}
		return err
	}
	switch tok {
	case json.Delim('['):
		r.bare = true
		r.state = 1
		return nil
	case json.Delim('{'):
	default:
		return fmt.Errorf("file starts with %v: %w", tok, ErrNotCloudTrail)
	}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if strings.EqualFold(key, "Records") {
			tok, err := r.dec.Token()
			if err != nil {
				return err
			}
			if tok == nil { // "Records": null
				continue
			}
			if tok != json.Delim('[') {
				return fmt.Errorf("records member is %v, not an array: %w", tok, ErrNotCloudTrail)
			}
			r.state = 1
			return nil
		}
		var skip json.RawMessage
		if err := r.dec.Decode(&skip); err != nil {
			return err
		}
	}
	// An object without records (a digest file, an empty delivery).
	if _, err := r.dec.Token(); err != nil {
		return err
	}
	r.state = 2
	return nil
}

// skipMembers reads the members after the records array up to the end of
// the object.
func (r *Reader) skipMembers() error {
	for r.dec.More() {
		if _, err := r.dec.Token(); err != nil {
			return err
		}
		var skip json.RawMessage
		if err := r.dec.Decode(&skip); err != nil {
			return err
		}
	}
	if _, err := r.dec.Token(); err != nil {
		return err
	}
	r.state = 2
	if !r.finish() {
		return r.err
	}
	return nil
}

// finish checks that nothing but white space follows the top-level value.
func (r *Reader) finish() bool {
	if _, err := r.dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the end of the top-level value")
		}
		r.fail(err)
	}
	return false
}

func (r *Reader) fail(err error) {
	r.state = 2
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("file ends inside a record: %w", io.ErrUnexpectedEOF)
	}
	r.err = err
}

// Record returns the current record; it is overwritten by Next.
func (r *Reader) Record() *Record { return &r.rec }

// Err returns the first error that stopped reading (nil at a clean end).
func (r *Reader) Err() error { return r.err }
