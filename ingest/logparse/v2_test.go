package logparse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/schema"
)

// row is one parsed row: column name → value as text ("<null>" for NULL).
type row map[string]string

// drain reads every batch of br into rows and releases it.
func drain(t *testing.T, br BatchReader) ([]row, Stats) {
	t.Helper()
	defer br.Release()
	var rows []row
	for br.Next() {
		b := br.Batch()
		if !b.Schema().Equal(br.Schema()) {
			t.Fatalf("batch schema %v, reader says %v", b.Schema(), br.Schema())
		}
		for j := 0; j < int(b.NumRows()); j++ {
			r := row{}
			for i, f := range b.Schema().Fields() {
				v := "<null>"
				if c := b.Column(i); c.IsValid(j) {
					v = c.ValueStr(j)
				}
				r[f.Name] = v
			}
			rows = append(rows, r)
		}
	}
	if err := br.Err(); err != nil {
		t.Fatal(err)
	}
	return rows, br.Stats()
}

// readJSON parses JSON lines with a checked allocator.
func readJSON(t *testing.T, text string, opts ...Option) ([]row, Stats) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := NewJSONReader(strings.NewReader(text), append([]Option{WithAllocator(mem), WithBatchRows(2)}, opts...)...)
	return drain(t, r)
}

// TestJSONSample reads AWS's own v2 JSON example (see
// testdata/samples/README.md).
func TestJSONSample(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("testdata", "samples", "awsdocs_standard-logging-v2_firehose-json-example.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rows, st := readJSON(t, string(text), WithSource("sample.jsonl"), WithDistribution("E1EXAMPLE", schema.RoleStaging))
	checkBalance(t, st)
	if st.Rows != 2 || st.Rejected != 0 || st.HeaderLines != 0 || len(st.UnknownFields) != 0 {
		t.Fatalf("stats %+v", st)
	}
	want := []row{{
		"timestamp": "2024-11-15T19:45:51.183Z", "date": "2024-11-15", "time": "19:45:51",
		"x_edge_location": "SOF50-P2", "asn": "16509", "origin_fbl": "0.254", "origin_lbl": "0.254",
		"x_host_header": "d111111abcdef8.cloudfront.net", "cs_cookie": "examplecookie=value",
		"line": "1", "source": "sample.jsonl", "distribution_id": "E1EXAMPLE", "role": "staging",
	}, {
		"timestamp": "2024-11-15T19:45:52.95Z", "date": "2024-11-15", "time": "19:45:52",
		"x_edge_location": "SOF50-P2", "asn": "16509", "origin_fbl": "0.125", "origin_lbl": "0.125",
		"x_host_header": "d111111abcdef8.cloudfront.net", "cs_cookie": "examplecookie=value",
		"line": "2", "source": "sample.jsonl", "distribution_id": "E1EXAMPLE", "role": "staging",
	}}
	for i := range want {
		for _, c := range schema.Columns() {
			if _, ok := want[i][c.Name]; !ok {
				want[i][c.Name] = "<null>" // fields the sample does not carry
			}
		}
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestJSONValues checks how JSON values map to columns.
func TestJSONValues(t *testing.T) {
	const base = `"date":"2025-09-10","time":"08:15:30"`
	tests := []struct {
		name string
		line string
		col  string
		want string
	}{
		{name: "string status", line: `{` + base + `,"sc-status":"502"}`, col: "sc_status", want: "502"},
		{name: "number status", line: `{` + base + `,"sc-status":502}`, col: "sc_status", want: "502"},
		{name: "status 000", line: `{` + base + `,"sc-status":"000"}`, col: "sc_status", want: "0"},
		{name: "dash is null", line: `{` + base + `,"cs(Referer)":"-"}`, col: "cs_referer", want: "<null>"},
		{name: "json null is null", line: `{` + base + `,"cs(Referer)":null}`, col: "cs_referer", want: "<null>"},
		{name: "absent is null", line: `{` + base + `}`, col: "cs_referer", want: "<null>"},
		{name: "empty string kept", line: `{` + base + `,"cs-uri-query":""}`, col: "cs_uri_query", want: ""},
		{name: "escaped backslash", line: `{` + base + `,"x-forwarded-for":"1.2.3.4,\\x2010.0.0.1"}`, col: "x_forwarded_for", want: `1.2.3.4,\x2010.0.0.1`},
		{name: "unicode escape", line: `{` + base + `,"cs(User-Agent)":"caf\u00e9 \ud83d\ude00 \"q\" a\/b"}`, col: "cs_user_agent", want: "café 😀 \"q\" a/b"},
		{name: "lone surrogate", line: `{` + base + `,"cs(User-Agent)":"x\ud800y"}`, col: "cs_user_agent", want: "x\ufffdy"},
		{name: "key case ignored", line: `{` + base + `,"CS(HOST)":"d1.cloudfront.net"}`, col: "cs_host", want: "d1.cloudfront.net"},
		{name: "column-style key", line: `{` + base + `,"cs_user_agent":"curl/8"}`, col: "cs_user_agent", want: "curl/8"},
		{name: "timestamp ms wins", line: `{"timestamp(ms)":"1731699951183","date":"2024-11-15","time":"00:00:00"}`, col: "timestamp", want: "2024-11-15T19:45:51.183Z"},
		{name: "timestamp ms alone gives date", line: `{"timestamp(ms)":"1731699951183"}`, col: "date", want: "2024-11-15"},
		{name: "timestamp seconds", line: `{"timestamp":"1731699951.183"}`, col: "timestamp", want: "2024-11-15T19:45:51.183Z"},
		{name: "timestamp ms as number", line: `{"timestamp(ms)":1731699951183}`, col: "timestamp", want: "2024-11-15T19:45:51.183Z"},
		{name: "blanks around", line: " \t{ \"date\" : \"2025-09-10\" , \"time\":\"08:15:30\" , \"asn\" : \"64496\" } ", col: "asn", want: "64496"},
		{name: "crlf", line: `{` + base + `,"c-country":"DE"}` + "\r", col: "c_country", want: "DE"},
		{name: "byte order mark", line: "\xef\xbb\xbf{" + base + `,"c-country":"FR"}`, col: "c_country", want: "FR"},
		{name: "v2 extra fields", line: `{` + base + `,"cache-behavior-path-pattern":"/api/*","distribution-tenant-id":"dt_1","connection-id":"cid=="}`, col: "cache_behavior_path_pattern", want: "/api/*"},
		{name: "booleans as text", line: `{` + base + `,"fle-status":true}`, col: "fle_status", want: "true"},
		{name: "last duplicate wins", line: `{` + base + `,"sc-status":"200","sc-status":"404"}`, col: "sc_status", want: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, st := readJSON(t, tt.line+"\n")
			checkBalance(t, st)
			if st.Rows != 1 {
				t.Fatalf("rows %d, rejected %v %+v", st.Rows, st.RejectedBy, st.Samples)
			}
			if got := rows[0][tt.col]; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.col, got, tt.want)
			}
		})
	}
}

// TestJSONRejects checks that each bad line is rejected for its reason,
// with its line number, and that the lines around it still read.
func TestJSONRejects(t *testing.T) {
	const good = `{"date":"2025-09-10","time":"08:15:30","sc-status":"200"}`
	tests := []struct {
		name   string
		line   string
		reason string
	}{
		{name: "not json", line: `2025-09-10	08:15:30	FRA56	200`, reason: ReasonBadJSON},
		{name: "w3c header", line: `#Fields: date time`, reason: ReasonBadJSON},
		{name: "array", line: `["2025-09-10"]`, reason: ReasonBadJSON},
		{name: "nested object", line: `{"date":"2025-09-10","time":"08:15:30","x":{"a":"b"}}`, reason: ReasonBadJSON},
		{name: "unterminated string", line: `{"date":"2025-09-10`, reason: ReasonBadJSON},
		{name: "unterminated object", line: `{"date":"2025-09-10"`, reason: ReasonBadJSON},
		{name: "missing colon", line: `{"date" "2025-09-10"}`, reason: ReasonBadJSON},
		{name: "text after", line: good + `x`, reason: ReasonBadJSON},
		{name: "two objects", line: good + good, reason: ReasonBadJSON},
		{name: "bad escape", line: `{"date":"2025-09-10","time":"08:15:30","cs-uri-stem":"\q"}`, reason: ReasonBadJSON},
		{name: "bad unicode escape", line: `{"date":"2025-09-10","time":"08:15:30","cs-uri-stem":"\u12"}`, reason: ReasonBadJSON},
		{name: "raw tab in string", line: "{\"date\":\"2025-09-10\",\"time\":\"08:15:30\",\"cs-uri-stem\":\"a\tb\"}", reason: ReasonBadJSON},
		{name: "bare word", line: `{"date":"2025-09-10","time":"08:15:30","sc-status":ok}`, reason: ReasonBadJSON},
		{name: "escaped nul", line: `{"date":"2025-09-10","time":"08:15:30","cs-uri-stem":"a\u0000b"}`, reason: ReasonInvalidBytes},
		{name: "invalid utf8", line: "{\"date\":\"2025-09-10\",\"time\":\"08:15:30\",\"cs-uri-stem\":\"a\xffb\"}", reason: ReasonInvalidBytes},
		{name: "bad number", line: `{"date":"2025-09-10","time":"08:15:30","sc-status":"2OO"}`, reason: ReasonBadNumber},
		{name: "bad json number", line: `{"date":"2025-09-10","time":"08:15:30","sc-bytes":1.5e3}`, reason: ReasonBadNumber},
		{name: "bad date", line: `{"date":"2025-02-30","time":"08:15:30"}`, reason: ReasonBadDate},
		{name: "bad time", line: `{"date":"2025-09-10","time":"8:15"}`, reason: ReasonBadTime},
		{name: "bad timestamp ms", line: `{"timestamp(ms)":"17316999.5"}`, reason: ReasonBadTime},
		{name: "no time", line: `{"sc-status":"200"}`, reason: ReasonNoTimestamp},
		{name: "empty object", line: `{}`, reason: ReasonNoTimestamp},
		{name: "blank line", line: `   `, reason: ReasonEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := good + "\n" + good + "\n" + tt.line + "\n" + good + "\n"
			rows, st := readJSON(t, text, WithSource("x.json"))
			checkBalance(t, st)
			if st.Rows != 3 || st.Rejected != 1 || st.RejectedBy[tt.reason] != 1 {
				t.Fatalf("rows %d rejected %v %+v; want 3 rows and one %s", st.Rows, st.RejectedBy, st.Samples, tt.reason)
			}
			s := st.Samples[0]
			if s.Line != 3 || s.Source != "x.json" || s.Reason != tt.reason || s.Text != sampleText([]byte(strings.TrimRight(tt.line, "\r"))) {
				t.Errorf("sample %+v, want line 3 of x.json, %s, the line's text", s, tt.reason)
			}
			var lines []string
			for _, r := range rows {
				lines = append(lines, r["line"])
			}
			if diff := cmp.Diff([]string{"1", "2", "4"}, lines); diff != "" {
				t.Errorf("line numbers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONUnknownKeys counts a key the schema does not know once per
// reader, not once per line.
func TestJSONUnknownKeys(t *testing.T) {
	line := `{"date":"2025-09-10","time":"08:15:30","x-new-field":"a","sc-status":"301"}` + "\n"
	rows, st := readJSON(t, strings.Repeat(line, 5))
	if st.Rows != 5 || st.UnknownFields["x-new-field"] != 1 || len(st.UnknownFields) != 1 {
		t.Errorf("rows %d unknown %v; want 5 rows and x-new-field once", st.Rows, st.UnknownFields)
	}
	if rows[4]["sc_status"] != "301" {
		t.Errorf("sc_status %q", rows[4]["sc_status"])
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"", FormatAuto, false},
		{"auto", FormatAuto, false},
		{"W3C", FormatW3C, false},
		{"plain", FormatW3C, false},
		{"json", FormatJSON, false},
		{"parquet", FormatParquet, false},
		{"csv", FormatAuto, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseFormat(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil && tt.in != "" && tt.in != "plain" && !strings.EqualFold(got.String(), tt.in) {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		peek string
		file string
		want Format
	}{
		{"parquet magic", "PAR1\x15\x04", "x.gz", FormatParquet},
		{"json object", `{"date":"2025-09-10"}`, "x.log.gz", FormatJSON},
		{"json after bom and blanks", "\xef\xbb\xbf \n{\"a\":\"b\"}", "", FormatJSON},
		{"w3c header", "#Version: 1.0\n", "x.json", FormatW3C},
		{"w3c headerless", "2025-09-10\t08:15:30", "", FormatW3C},
		{"empty by name parquet", "", "a/b.parquet", FormatParquet},
		{"empty by name json", "", "a/b.JSONL.gz", FormatJSON},
		{"empty unknown name", "", "a/E1.2025-09-10-08.ab.gz", FormatW3C},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect([]byte(tt.peek), tt.file); got != tt.want {
				t.Errorf("Detect(%q, %q) = %v, want %v", tt.peek, tt.file, got, tt.want)
			}
		})
	}
}

// v2Scenario is a short generated scenario with every kind of response.
func v2Scenario() *loggen.Scenario {
	sc := loggen.DefaultScenario(0.2)
	sc.Hours = 3
	sc.Windows = sc.Windows[3:4]
	sc.Windows[0].Start = sc.Start
	sc.Peaks = nil
	return sc
}

// memFiles collects generated objects in memory, in writing order.
type memFiles struct {
	names []string
	data  map[string]*bytes.Buffer
}

type memFile struct{ *bytes.Buffer }

func (memFile) Close() error { return nil }

func (m *memFiles) create(name string) (io.WriteCloser, error) {
	b := &bytes.Buffer{}
	m.names = append(m.names, name)
	m.data[name] = b
	return memFile{b}, nil
}

// generate writes the scenario in one format.
func generate(t *testing.T, format loggen.Format, o loggen.V2Options) *memFiles {
	t.Helper()
	m := &memFiles{data: map[string]*bytes.Buffer{}}
	if _, err := loggen.Generate(context.Background(), v2Scenario(), loggen.Output{Create: m.create, Format: format, V2: o}); err != nil {
		t.Fatal(err)
	}
	return m
}

// readObjects reads every object through Open with the given format and
// returns the rows, keyed by x_edge_request_id, and the total stats.
func readObjects(t *testing.T, m *memFiles, format Format, opts ...Option) (map[string]row, Stats) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := map[string]row{}
	var total Stats
	for _, name := range m.names {
		// A plain io.Reader, as the pipeline has: Parquet takes the
		// temporary-file path.
		body := struct{ io.Reader }{bytes.NewReader(m.data[name].Bytes())}
		br, err := Open(body, format, append([]Option{WithAllocator(mem), WithSource(name), WithBatchRows(1000), WithTempDir(t.TempDir())}, opts...)...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows, st := drain(t, br)
		checkBalance(t, st)
		if st.Rejected != 0 || len(st.UnknownFields) != 0 {
			t.Fatalf("%s: rejected %v %+v, unknown %v", name, st.RejectedBy, st.Samples, st.UnknownFields)
		}
		total.Rows += st.Rows
		for _, r := range rows {
			id := r["x_edge_request_id"]
			if _, dup := out[id]; dup {
				t.Fatalf("request ID %s twice", id)
			}
			delete(r, "source") // object names differ by format
			delete(r, "line")   // W3C counts header lines, JSON and Parquet do not
			out[id] = r
		}
	}
	return out, total
}

// TestSameRowsInEveryFormat writes one generated scenario as legacy
// files and as each v2 format, reads each through Open (format
// detected), and checks that every column of every row is the same.
func TestSameRowsInEveryFormat(t *testing.T) {
	legacy, st := readObjects(t, generate(t, loggen.Legacy, loggen.V2Options{}), FormatAuto)
	if st.Rows < 100 {
		t.Fatalf("only %d rows generated", st.Rows)
	}
	// A subset in another order, the key last.
	subset := []string{"sc-status", "time", "x-edge-result-type", "cs-uri-stem", "date", "time-taken", "x-edge-detailed-result-type", "cs(User-Agent)", "x-forwarded-for", "x-edge-request-id"}
	subsetCols := map[string]bool{"timestamp": true, "distribution_id": true, "role": true}
	for _, f := range subset {
		subsetCols[schema.ColumnName(f)] = true
	}
	tests := []struct {
		name   string
		format loggen.Format
		opts   loggen.V2Options
		force  Format
		cols   map[string]bool // compared columns; nil: all
	}{
		{name: "v2 json", format: loggen.V2JSON},
		{name: "v2 json forced", format: loggen.V2JSON, force: FormatJSON},
		{name: "v2 w3c tab", format: loggen.V2W3C},
		{name: "v2 w3c space subset reordered", format: loggen.V2W3C, opts: loggen.V2Options{Fields: subset, Delimiter: ' '}, cols: subsetCols},
		{name: "v2 parquet", format: loggen.V2Parquet},
		{name: "v2 parquet forced subset", format: loggen.V2Parquet, opts: loggen.V2Options{Fields: subset}, force: FormatParquet, cols: subsetCols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := readObjects(t, generate(t, tt.format, tt.opts), tt.force)
			if len(got) != len(legacy) {
				t.Fatalf("%d rows, legacy has %d", len(got), len(legacy))
			}
			ids := make([]string, 0, len(legacy))
			for id := range legacy {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				want := row{}
				for c, v := range legacy[id] {
					switch {
					case tt.cols == nil || tt.cols[c]:
						want[c] = v
					default:
						want[c] = "<null>" // not in the file
					}
				}
				if diff := cmp.Diff(want, got[id]); diff != "" {
					t.Fatalf("request %s (-legacy +%s):\n%s", id, tt.name, diff)
				}
			}
		})
	}
}

// TestTimestampMSFromEveryFormat checks that timestamp(ms) gives the
// timestamp column, to the millisecond, in the second legacy date and
// time name, and the date column without a date field.
func TestTimestampMSFromEveryFormat(t *testing.T) {
	legacy, _ := readObjects(t, generate(t, loggen.Legacy, loggen.V2Options{}), FormatAuto)
	fields := []string{loggen.FieldTimestampMS, "x-edge-request-id", "sc-status"}
	for _, format := range []loggen.Format{loggen.V2JSON, loggen.V2W3C, loggen.V2Parquet} {
		t.Run(format.String(), func(t *testing.T) {
			got, _ := readObjects(t, generate(t, format, loggen.V2Options{Fields: fields}), FormatAuto)
			if len(got) != len(legacy) {
				t.Fatalf("%d rows, legacy has %d", len(got), len(legacy))
			}
			withMS := 0
			for id, w := range legacy {
				g := got[id]
				wt, err1 := time.Parse(time.RFC3339Nano, w["timestamp"])
				gt, err2 := time.Parse(time.RFC3339Nano, g["timestamp"])
				if err1 != nil || err2 != nil || gt.Before(wt) || !gt.Before(wt.Add(time.Second)) {
					t.Fatalf("request %s: timestamp %s, legacy %s", id, g["timestamp"], w["timestamp"])
				}
				if gt.Nanosecond() != 0 {
					withMS++
				}
				if g["date"] != w["date"] || g["sc_status"] != w["sc_status"] || g["time"] != "<null>" {
					t.Fatalf("request %s: date %s status %s time %s; legacy %s %s", id, g["date"], g["sc_status"], g["time"], w["date"], w["sc_status"])
				}
			}
			if withMS == 0 {
				t.Error("no timestamp carries milliseconds")
			}
		})
	}
}

// writeParquet writes one record batch as a Parquet file.
func writeParquet(t *testing.T, rec arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParquetTypedColumns reads a Parquet file whose columns are typed
// and named in other styles, and checks the values against the same
// record as a W3C line.
func TestParquetTypedColumns(t *testing.T) {
	ts := time.Date(2025, 9, 10, 8, 15, 30, 250e6, time.UTC)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "timestamp_ms", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "Date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "cs_Host", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "sc_status", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "sc-bytes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "time_taken", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "x_edge_result_type", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, Nullable: true},
		{Name: "ASN", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "cs_referer", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "x_unknown", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(memory.NewGoAllocator(), sc, strings.NewReader(`[
		{"timestamp_ms": `+itoa(ts.UnixMilli())+`, "Date": "2025-09-10", "cs_Host": "d1.cloudfront.net", "sc_status": 502, "sc-bytes": 1500, "time_taken": 0.25, "x_edge_result_type": "Error", "ASN": "16509", "cs_referer": "-", "x_unknown": "a"},
		{"timestamp_ms": null, "Date": null, "cs_Host": null, "sc_status": null, "sc-bytes": null, "time_taken": null, "x_edge_result_type": null, "ASN": null, "cs_referer": null, "x_unknown": null}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	data := writeParquet(t, rec)
	w3c, _ := readJSON(t, `{"timestamp(ms)":"`+itoa(ts.UnixMilli())+`","date":"2025-09-10","cs(Host)":"d1.cloudfront.net","sc-status":"502","sc-bytes":"1500","time-taken":"0.25","x-edge-result-type":"Error","asn":"16509","cs(Referer)":"-"}`)

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	p, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	rows, st := drain(t, p)
	checkBalance(t, st)
	if st.Rows != 1 || st.RejectedBy[ReasonNoTimestamp] != 1 || st.UnknownFields["x_unknown"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if st.Samples[0].Line != 2 {
		t.Errorf("rejected row %d, want 2", st.Samples[0].Line)
	}
	if diff := cmp.Diff(w3c[0], rows[0]); diff != "" {
		t.Errorf("parquet row (-json +parquet):\n%s", diff)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestParquetProjection builds only the asked columns, and reads only
// what they need.
func TestParquetProjection(t *testing.T) {
	m := generate(t, loggen.V2Parquet, loggen.V2Options{})
	name := m.names[0]
	data := m.data[name].Bytes()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cols := []int{schema.ScStatus, schema.Timestamp_, schema.Source, schema.Line}
	p, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), WithAllocator(mem), WithColumns(cols), WithSource(name), WithBatchRows(7))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	var n int64
	for p.Next() {
		b := p.Batch()
		if b.NumRows() > 7 {
			t.Fatalf("batch of %d rows, want at most 7", b.NumRows())
		}
		var names []string
		for _, f := range b.Schema().Fields() {
			names = append(names, f.Name)
		}
		if diff := cmp.Diff([]string{"sc_status", "timestamp", "source", "line"}, names); diff != "" {
			t.Fatalf("columns (-want +got):\n%s", diff)
		}
		lines := b.Column(3).(*array.Int64)
		for i := 0; i < lines.Len(); i++ {
			n++
			if lines.Value(i) != n {
				t.Fatalf("line %d, want %d", lines.Value(i), n)
			}
		}
	}
	if p.Err() != nil || n == 0 || p.Stats().Rows != n {
		t.Fatalf("err %v, %d rows, stats %+v", p.Err(), n, p.Stats())
	}
}

// TestOpen checks Open's choices: gzip or not, detected or forced,
// Parquet read in place from a file or copied, limits.
func TestOpen(t *testing.T) {
	jsonText := []byte(`{"date":"2025-09-10","time":"08:15:30","sc-status":"200"}` + "\n")
	w3cText := []byte("#Fields: date time sc-status\n2025-09-10\t08:15:30\t200\n")
	pq := generate(t, loggen.V2Parquet, loggen.V2Options{Fields: []string{"date", "time", "sc-status"}})
	pqData := pq.data[pq.names[0]].Bytes()
	dir := t.TempDir()
	pqFile := filepath.Join(dir, "x.parquet")
	if err := os.WriteFile(pqFile, pqData, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    func() io.Reader
		format  Format
		limit   int64
		rows    int64 // rows wanted; -1: some; 0: the record rejected
		wantErr error
	}{
		{name: "json", body: func() io.Reader { return bytes.NewReader(jsonText) }, rows: 1},
		{name: "json gzip", body: func() io.Reader { return bytes.NewReader(gzipBytes(jsonText)) }, rows: 1},
		{name: "w3c gzip", body: func() io.Reader { return bytes.NewReader(gzipBytes(w3cText)) }, rows: 1},
		{name: "w3c forced json rejects", body: func() io.Reader { return bytes.NewReader(w3cText) }, format: FormatJSON},
		{name: "json forced w3c rejects", body: func() io.Reader { return bytes.NewReader(jsonText) }, format: FormatW3C},
		{name: "parquet copied", body: func() io.Reader { return struct{ io.Reader }{bytes.NewReader(pqData)} }, rows: -1},
		{name: "parquet in place", body: func() io.Reader { f, _ := os.Open(pqFile); t.Cleanup(func() { f.Close() }); return f }, rows: -1},
		{name: "parquet over limit copied", body: func() io.Reader { return struct{ io.Reader }{bytes.NewReader(pqData)} }, limit: 100, wantErr: ErrTooLarge},
		{name: "parquet over limit in place", body: func() io.Reader { f, _ := os.Open(pqFile); t.Cleanup(func() { f.Close() }); return f }, limit: 100, wantErr: ErrTooLarge},
		{name: "text forced parquet", body: func() io.Reader { return bytes.NewReader(w3cText) }, format: FormatParquet, wantErr: ErrCorrupt},
		{name: "truncated parquet", body: func() io.Reader { return bytes.NewReader(pqData[:len(pqData)/2]) }, wantErr: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tmp := t.TempDir()
			br, err := Open(tt.body(), tt.format, WithAllocator(mem), WithMaxBytes(tt.limit), WithTempDir(tmp))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					if err == nil {
						br.Release()
					}
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				_, st := drain(t, br)
				checkBalance(t, st)
				switch {
				case tt.rows > 0 && (st.Rows != tt.rows || st.Rejected != 0):
					t.Errorf("rows %d rejected %v, want %d rows", st.Rows, st.RejectedBy, tt.rows)
				case tt.rows < 0 && (st.Rows == 0 || st.Rejected != 0):
					t.Errorf("rows %d rejected %v, want rows", st.Rows, st.RejectedBy)
				}
				if tt.rows == 0 && (st.Rows != 0 || st.Rejected == 0) {
					t.Errorf("rows %d rejected %v, want the record rejected", st.Rows, st.RejectedBy)
				}
			}
			left, _ := os.ReadDir(tmp)
			if len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestOpenPooledBuffers: objects read through Open one after another and
// at once, sharing the pooled buffers and decoders, give the rows each
// gives alone, and a released reader reads nothing more.
func TestOpenPooledBuffers(t *testing.T) {
	objects := make([][]byte, 12)
	for i := range objects {
		text := benchText(200 + 300*i)
		if i%3 == 0 {
			objects[i] = text // plain text among the gzip files
		} else {
			objects[i] = gzipBytes(text)
		}
	}
	// sums reads one object and returns its rows and the sum of its
	// sc-bytes.
	sums := func(t *testing.T, data []byte) (int64, int64) {
		br, err := Open(bytes.NewReader(data), FormatAuto, WithBatchRows(128))
		if err != nil {
			t.Error(err)
			return 0, 0
		}
		defer br.Release()
		var rows, bytesSum int64
		col := schema.ScBytes
		for br.Next() {
			b := br.Batch()
			rows += b.NumRows()
			a := b.Column(col).(*array.Int64)
			for i := range a.Len() {
				bytesSum += a.Value(i)
			}
		}
		if err := br.Err(); err != nil {
			t.Error(err)
		}
		return rows, bytesSum
	}
	type result struct{ rows, sum int64 }
	want := make([]result, len(objects))
	for i, o := range objects {
		want[i].rows, want[i].sum = sums(t, o)
		if want[i].rows != int64(200+300*i) {
			t.Fatalf("object %d: %d rows, want %d", i, want[i].rows, 200+300*i)
		}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for k := range 3 * len(objects) {
				i := (k + w) % len(objects)
				if rows, sum := sums(t, objects[i]); rows != want[i].rows || sum != want[i].sum {
					t.Errorf("object %d read at once with others: %d rows, sum %d; want %d, %d", i, rows, sum, want[i].rows, want[i].sum)
				}
			}
		})
	}
	wg.Wait()

	br, err := Open(bytes.NewReader(objects[1]), FormatAuto, WithBatchRows(64))
	if err != nil {
		t.Fatal(err)
	}
	if !br.Next() {
		t.Fatal(br.Err())
	}
	br.Release()
	if br.Next() {
		t.Error("a released reader gave a batch")
	}
}
