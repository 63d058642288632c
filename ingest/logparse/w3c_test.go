package logparse

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cflens/cflens/ingest/inflate"
	"github.com/cflens/cflens/ingest/schema"
)

// readAll parses text and returns the rows as strings per column name
// (NULL as "<null>") plus the stats.
func readAll(t *testing.T, text []byte, opts ...Option) (map[string][]string, Stats) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rc, err := inflate.Decompress(bytes.NewReader(text), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := NewReader(rc, append([]Option{WithAllocator(mem), WithBatchRows(3)}, opts...)...)
	defer r.Release()
	got := map[string][]string{}
	for r.Next() {
		b := r.Batch()
		for i, f := range b.Schema().Fields() {
			col := b.Column(i)
			for j := 0; j < col.Len(); j++ {
				v := "<null>"
				if col.IsValid(j) {
					v = col.ValueStr(j)
				}
				got[f.Name] = append(got[f.Name], v)
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return got, r.Stats()
}

func checkBalance(t *testing.T, s Stats) {
	t.Helper()
	if s.Lines != s.HeaderLines+s.Rows+s.Rejected+s.OutOfRange {
		t.Errorf("lines %d != headers %d + rows %d + rejected %d + out of range %d",
			s.Lines, s.HeaderLines, s.Rows, s.Rejected, s.OutOfRange)
	}
}

// TestSamples parses every real sample file: each record becomes a row,
// nothing is rejected, and some values match the file.
func TestSamples(t *testing.T) {
	tests := []struct {
		file    string
		rows    int64
		headers int64
		check   map[string]string // column → value of the first row
		last    map[string]string // column → value of the last row
	}{
		{file: "awsdocs_cloudfront-dev-guide_AccessLogs_2023-03-31_33fields.log", rows: 6, headers: 2,
			check: map[string]string{"cs_uri_stem": "/index.html", "sc_status": "200", "x_edge_location": "LAX1", "sc_bytes": "392", "time_taken": "0.001", "timestamp": "2019-12-04T21:02:31Z", "date": "2019-12-04", "c_port": "11040", "x_forwarded_for": "<null>"},
			last:  map[string]string{"sc_status": "502", "x_edge_result_type": "Error", "x_edge_detailed_result_type": "OriginDnsError", "cs_user_agent": "curl/7.55.1", "sc_content_type": "text/html", "sc_content_len": "507"}},
		{file: "awsdocs_cloudfront-dev-guide_AccessLogs_2019-12-20_double-encoded-UA.log", rows: 6, headers: 2,
			check: map[string]string{"cs_user_agent": "Mozilla/5.0%2520(Windows%2520NT%252010.0;%2520Win64;%2520x64)%2520AppleWebKit/537.36%2520(KHTML,%2520like%2520Gecko)%2520Chrome/78.0.3904.108%2520Safari/537.36"}},
		{file: "awsdocs_cloudfront-dev-guide_AccessLogs_2019-06-20_26fields-space-separated.log", rows: 2, headers: 2,
			check: map[string]string{"fle_status": "Processed", "fle_encrypted_fields": "1", "cs_cookie": "zip=98101", "cs_uri_query": "<null>", "c_port": "<null>"}},
		{file: "awsdocs_cloudfront-dev-guide_AccessLogs_2017-12-07_24fields-space-separated.log", rows: 2, headers: 2,
			check: map[string]string{"cs_protocol_version": "HTTP/1.1", "cs_referer": "www.displaymyfiles.com", "fle_status": "<null>"}},
		{file: "asaaki_cloudfront-logs_tests_AWS_DOCS_EXAMPLE.log", rows: 6, headers: 2,
			last: map[string]string{"sc_status": "502"}},
		{file: "claygregory_node-cloudfront-log-parser_web-1-0.log", rows: 2, headers: 2,
			last: map[string]string{"sc_status": "304", "x_edge_result_type": "Hit", "cs_uri_query": "a=b&c=d"}},
		{file: "claygregory_node-cloudfront-log-parser_web-1-0-2019-12.log", rows: 3, headers: 2,
			check: map[string]string{"cs_uri_stem": "/index.html", "ssl_protocol": "TLSv1.2"}},
		{file: "dpetzold_aws-log-parser_cloudfront-multiple.log", rows: 6, headers: 2,
			check: map[string]string{"c_ip": "128.92.136.19"}},
		{file: "dpetzold_aws-log-parser_cloudfront_entries_24fields.log", rows: 4, headers: 0,
			check: map[string]string{"cs_bytes": "<null>", "x_edge_location": "FRA2"},
			last:  map[string]string{"cs_cookie": "this%20zip=98101"}},
		{file: "logstash-patterns-core_aws_spec_cloudfront.log", rows: 2, headers: 0,
			check: map[string]string{"x_edge_location": "IAD53", "sc_bytes": "224281", "x_edge_response_result_type": "RefreshHit", "cs_protocol_version": "<null>"}},
		{file: "maki-daisuke_cflogparser_weblog_test_26fields.log", rows: 2, headers: 0,
			check: map[string]string{"fle_status": "Processed", "fle_encrypted_fields": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("testdata", "samples", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, st := readAll(t, text, WithSource(tt.file), WithDistribution("E1EXAMPLE", schema.RoleProduction))
			checkBalance(t, st)
			if st.Rows != tt.rows || st.Rejected != 0 || st.HeaderLines != tt.headers {
				t.Fatalf("rows %d rejected %d (%v) headers %d; want rows %d, 0 rejected, headers %d",
					st.Rows, st.Rejected, st.Samples, st.HeaderLines, tt.rows, tt.headers)
			}
			if n := len(got["line"]); int64(n) != tt.rows {
				t.Fatalf("%d rows in batches, stats say %d", n, tt.rows)
			}
			for col, want := range tt.check {
				if g := got[col][0]; g != want {
					t.Errorf("first row %s = %q, want %q", col, g, want)
				}
			}
			for col, want := range tt.last {
				if g := got[col][len(got[col])-1]; g != want {
					t.Errorf("last row %s = %q, want %q", col, g, want)
				}
			}
			if got["distribution_id"][0] != "E1EXAMPLE" || got["role"][0] != "production" || got["source"][0] != tt.file {
				t.Errorf("added columns: %q %q %q", got["distribution_id"][0], got["role"][0], got["source"][0])
			}
		})
	}
}

const hdr33 = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n"

// line33 builds a 33-field record with overrides by field position (1-based).
func line33(over map[int]string) string {
	f := strings.Split("2025-09-10\t08:15:30\tFRA56-P1\t1500\t2001:db8::1\tGET\td1.cloudfront.net\t/a%2520b\t500\t-\tcurl/8\t-\t-\tError\tid==\texample.com\thttps\t120\t0.010\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tError\tHTTP/2.0\t-\t-\t443\t0.010\tError\ttext/html\t900\t-\t-", "\t")
	for k, v := range over {
		f[k-1] = v
	}
	return strings.Join(f, "\t")
}

// TestTrickyLines checks one line each for the quirks of real files.
func TestTrickyLines(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		col      string
		want     string
		rejected string // reason, when the line must be rejected
	}{
		{name: "status 000", text: hdr33 + line33(map[int]string{9: "000"}), col: "sc_status", want: "0"},
		{name: "negative range", text: hdr33 + line33(map[int]string{32: "-1", 33: "-5"}), col: "sc_range_end", want: "-5"},
		{name: "dash is null", text: hdr33 + line33(nil), col: "cs_referer", want: "<null>"},
		{name: "double encoded kept as logged", text: hdr33 + line33(nil), col: "cs_uri_stem", want: "/a%2520b"},
		{name: "ipv6 viewer", text: hdr33 + line33(nil), col: "c_ip", want: "2001:db8::1"},
		{name: "xff with literal x20", text: hdr33 + line33(map[int]string{20: `1.2.3.4,\x2010.0.0.1`}), col: "x_forwarded_for", want: `1.2.3.4,\x2010.0.0.1`},
		{name: "trailing tab", text: hdr33 + line33(nil) + "\t", col: "sc_range_end", want: "<null>"},
		{name: "crlf", text: strings.ReplaceAll(hdr33, "\n", "\r\n") + line33(nil) + "\r\n", col: "sc_range_end", want: "<null>"},
		{name: "timestamp utc", text: hdr33 + line33(nil), col: "timestamp", want: "2025-09-10T08:15:30Z"},
		{name: "bad status", text: hdr33 + line33(map[int]string{9: "5x0"}), rejected: ReasonBadNumber},
		{name: "bad date", text: hdr33 + line33(map[int]string{1: "2025-02-30"}), rejected: ReasonBadDate},
		{name: "bad time", text: hdr33 + line33(map[int]string{2: "25:00:00"}), rejected: ReasonBadTime},
		{name: "short line", text: hdr33 + "2025-09-10\t08:15:30\tFRA", rejected: ReasonFieldCount},
		{name: "nul byte", text: hdr33 + line33(map[int]string{11: "a\x00b"}), rejected: ReasonInvalidBytes},
		{name: "invalid utf8", text: hdr33 + line33(map[int]string{11: "a\xffb"}), rejected: ReasonInvalidBytes},
		{name: "empty line", text: hdr33 + "\n" + line33(nil), col: "sc_status", want: "500", rejected: ReasonEmpty},
		{name: "subset in any order", text: "#Fields: sc-status cs-uri-stem time date\n404\t/x\t10:00:00\t2025-01-01", col: "sc_status", want: "404"},
		{name: "v2 timestamp(ms) wins", text: "#Fields: timestamp(ms) date time sc-status\n1731699951183\t2024-11-15\t00:00:00\t200", col: "timestamp", want: "2024-11-15T19:45:51.183Z"},
		{name: "no time at all", text: "#Fields: sc-status cs-uri-stem\n200\t/", rejected: ReasonNoTimestamp},
		{name: "custom delimiter", text: "#Fields: date time sc-status\n2025-01-01|10:00:00|503", col: "sc_status", want: "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.name == "custom delimiter" {
				opts = append(opts, WithDelimiter('|'))
			}
			got, st := readAll(t, []byte(tt.text), opts...)
			checkBalance(t, st)
			if tt.rejected != "" {
				if st.RejectedBy[tt.rejected] != 1 {
					t.Fatalf("rejected %v, want one %s", st.RejectedBy, tt.rejected)
				}
				if len(st.Samples) != 1 || st.Samples[0].Line == 0 {
					t.Errorf("samples %+v, want one with its line number", st.Samples)
				}
			}
			if tt.col == "" {
				if st.Rows != 0 {
					t.Fatalf("%d rows, want none", st.Rows)
				}
				return
			}
			if st.Rows != 1 {
				t.Fatalf("rows %d, rejected %v %+v; want 1 row", st.Rows, st.RejectedBy, st.Samples)
			}
			if g := got[tt.col][0]; g != tt.want {
				t.Errorf("%s = %q, want %q", tt.col, g, tt.want)
			}
		})
	}
}

// TestUnknownFieldsCounted checks that a field the schema does not know is
// counted and its neighbours still land in the right columns.
func TestUnknownFieldsCounted(t *testing.T) {
	text := "#Fields: date time x-new-field sc-status\n2025-01-01\t10:00:00\tsomething\t302\n"
	got, st := readAll(t, []byte(text))
	if st.UnknownFields["x-new-field"] != 1 {
		t.Errorf("unknown fields %v", st.UnknownFields)
	}
	if got["sc_status"][0] != "302" {
		t.Errorf("sc_status %q", got["sc_status"][0])
	}
}

// TestRepeatedHeaders reads two concatenated gzip members whose headers
// name different field sets.
func TestRepeatedHeaders(t *testing.T) {
	var buf bytes.Buffer
	for _, part := range []string{
		"#Version: 1.0\n#Fields: date time sc-status cs-uri-stem\n2025-01-01\t10:00:00\t200\t/a\n",
		"#Version: 1.0\n#Fields: cs-uri-stem sc-status time date\n/b\t404\t11:00:00\t2025-01-01\n",
	} {
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(part))
		zw.Close()
	}
	got, st := readAll(t, buf.Bytes())
	checkBalance(t, st)
	if diff := cmp.Diff([]string{"/a", "/b"}, got["cs_uri_stem"]); diff != "" {
		t.Errorf("cs_uri_stem (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"200", "404"}, got["sc_status"]); diff != "" {
		t.Errorf("sc_status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"3", "6"}, got["line"]); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
}

func TestLineTooLong(t *testing.T) {
	long := hdr33 + line33(map[int]string{11: strings.Repeat("A", 1<<20)}) + "\n" + line33(nil) + "\n"
	got, st := readAll(t, []byte(long))
	checkBalance(t, st)
	if st.RejectedBy[ReasonLineTooLong] != 1 || st.Rows != 1 {
		t.Fatalf("rejected %v rows %d", st.RejectedBy, st.Rows)
	}
	if st.Samples[0].Line != 3 || len(st.Samples[0].Text) > maxSampleText {
		t.Errorf("sample line %d, text %d bytes", st.Samples[0].Line, len(st.Samples[0].Text))
	}
	if got["line"][0] != "4" {
		t.Errorf("line of the good row = %s, want 4", got["line"][0])
	}
}

func TestTimeRange(t *testing.T) {
	text := hdr33 + line33(map[int]string{2: "07:59:59"}) + "\n" + line33(map[int]string{2: "08:00:00"}) + "\n" + line33(map[int]string{2: "09:00:00"}) + "\n"
	from := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	_, st := readAll(t, []byte(text), WithTimeRange(from, from.Add(time.Hour)))
	checkBalance(t, st)
	if st.Rows != 1 || st.OutOfRange != 2 {
		t.Errorf("rows %d out of range %d, want 1 and 2", st.Rows, st.OutOfRange)
	}
}

// TestProjection builds only some columns, in the order asked.
func TestProjection(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cols := []int{schema.ScStatus, schema.Timestamp_, schema.DistributionID}
	r := NewReader(strings.NewReader(hdr33+line33(nil)), WithAllocator(mem), WithColumns(cols), WithDistribution("E2", ""))
	defer r.Release()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	b := r.Batch()
	if b.NumCols() != 3 || b.Schema().Field(0).Name != "sc_status" {
		t.Fatalf("schema %v", b.Schema())
	}
	if got := b.Column(0).(*array.Int32).Value(0); got != 500 {
		t.Errorf("status %d", got)
	}
	if got := b.Column(1).(*array.Timestamp).Value(0); got != arrow.Timestamp(time.Date(2025, 9, 10, 8, 15, 30, 0, time.UTC).UnixMilli()) {
		t.Errorf("timestamp %v", got)
	}
}

// TestSchemaGolden pins the column names and types of a full batch.
func TestSchemaGolden(t *testing.T) {
	var b strings.Builder
	for _, f := range schema.Arrow().Fields() {
		b.WriteString(f.Name + " " + f.Type.String() + "\n")
	}
	golden := filepath.Join("testdata", "schema.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("schema changed (-golden +now); rerun with UPDATE_GOLDEN=1 if intended:\n%s", diff)
	}
}

// TestDelimiterDetected: a header block's delimiter is the first of TAB,
// |, ;, , and space that splits its first record into the fields the
// header names; values holding the other candidates do not mislead it,
// later lines are checked against it, and each block detects its own.
func TestDelimiterDetected(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		opts     []Option
		rows     int64
		rejected map[string]int64
		col      string
		want     []string
	}{
		{name: "pipe, values with spaces, commas and semicolons",
			text: "#Fields: date time sc-status cs(User-Agent)\n2025-01-01|10:00:00|200|Mozilla/5.0 (X11; Linux, x86_64)\n",
			rows: 1, col: "cs_user_agent", want: []string{"Mozilla/5.0 (X11; Linux, x86_64)"}},
		{name: "semicolon", text: "#Fields: date time sc-status cs(User-Agent)\n2025-01-01;10:00:00;200;a, b c\n",
			rows: 1, col: "cs_user_agent", want: []string{"a, b c"}},
		{name: "comma", text: "#Fields: date time sc-status cs(User-Agent)\n2025-01-01,10:00:00,200,a b;c\n",
			rows: 1, col: "cs_user_agent", want: []string{"a b;c"}},
		{name: "space", text: "#Fields: date time sc-status cs(User-Agent)\n2025-01-01 10:00:00 200 a%20b\n",
			rows: 1, col: "cs_user_agent", want: []string{"a%20b"}},
		{name: "tab preferred when a space also fits", text: "#Fields: date time cs(User-Agent)\n2025-01-01\t10:00:00\tcurl 8 x\n",
			rows: 1, col: "cs_user_agent", want: []string{"curl 8 x"}},
		{name: "trailing delimiter", text: "#Fields: date time sc-status\n2025-01-01|10:00:00|503|\n",
			rows: 1, col: "sc_status", want: []string{"503"}},
		{name: "a later line split otherwise is rejected",
			text: "#Fields: date time sc-status\n2025-01-01|10:00:00|503\n2025-01-01;10:00:00;404\n",
			rows: 1, rejected: map[string]int64{ReasonFieldCount: 1}, col: "sc_status", want: []string{"503"}},
		{name: "a first record that fits no delimiter leaves the next to decide",
			text: "#Fields: date time sc-status\n2025-01-01|10:00\n2025-01-01|10:00:00|404\n",
			rows: 1, rejected: map[string]int64{ReasonFieldCount: 1}, col: "sc_status", want: []string{"404"}},
		{name: "each header block its own",
			text: "#Fields: date time sc-status\n2025-01-01|10:00:00|503\n#Fields: date time sc-status\n2025-01-01;10:00:00;404\n2025-01-01;10:00:01;200\n",
			rows: 3, col: "sc_status", want: []string{"503", "404", "200"}},
		{name: "header names separated by the delimiter", text: "#Fields: date|time|sc-status\n2025-01-01|10:00:00|302\n",
			rows: 1, col: "sc_status", want: []string{"302"}},
		{name: "no header: the legacy order", text: strings.ReplaceAll(line33(nil), "\t", "|") + "\n",
			rows: 1, col: "x_edge_result_type", want: []string{"Error"}},
		{name: "forced delimiter is not second-guessed", opts: []Option{WithDelimiter(';')},
			text: "#Fields: date time sc-status\n2025-01-01|10:00:00|503\n", rejected: map[string]int64{ReasonFieldCount: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := readAll(t, []byte(tt.text), tt.opts...)
			checkBalance(t, st)
			if st.Rows != tt.rows {
				t.Fatalf("rows %d, rejected %v %+v; want %d rows", st.Rows, st.RejectedBy, st.Samples, tt.rows)
			}
			if diff := cmp.Diff(tt.rejected, st.RejectedBy, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
			if tt.col != "" {
				if diff := cmp.Diff(tt.want, got[tt.col]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tt.col, diff)
				}
			}
		})
	}
}

// TestPipeDelimitedFile reads the hand-written v2 W3C file with the |
// delimiter without being told the delimiter.
func TestPipeDelimitedFile(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("testdata", "v2_w3c_pipe.log"))
	if err != nil {
		t.Fatal(err)
	}
	got, st := readAll(t, text)
	checkBalance(t, st)
	if st.Rows != 3 || st.Rejected != 0 || len(st.UnknownFields) != 0 {
		t.Fatalf("rows %d rejected %v %+v unknown %v; want 3 rows, none rejected", st.Rows, st.RejectedBy, st.Samples, st.UnknownFields)
	}
	want := map[string][]string{
		"sc_status":                   {"200", "500", "200"},
		"x_forwarded_for":             {"203.0.113.7, 198.51.100.2", "<null>", "<null>"},
		"x_edge_detailed_result_type": {"Hit", "OriginError", "Error"},
		"time_taken":                  {"0.002", "0.12", "0.031"},
		"timestamp":                   {"2025-09-10T08:00:00.123Z", "2025-09-10T08:00:01.456Z", "2025-09-10T08:00:02.789Z"},
	}
	for col, w := range want {
		if diff := cmp.Diff(w, got[col]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", col, diff)
		}
	}
	if ua := got["cs_user_agent"][2]; !strings.Contains(ua, "(KHTML, like Gecko)") {
		t.Errorf("user agent %q cut", ua)
	}
}

// TestDuplicateField: a #Fields header naming a field twice rejects the
// lines of its block, each with the object and line; the next header
// starts a good block again.
func TestDuplicateField(t *testing.T) {
	tests := []struct {
		name, header, field string
	}{
		{"same name", "date time sc-status sc-status", "sc-status"},
		{"names differing in case", "date time SC-STATUS sc-status", "sc-status"},
		{"timestamp twice", "timestamp(ms) sc-status timestamp(ms) date", "timestamp(ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "#Fields: " + tt.header + "\n2025-01-01\t10:00:00\t200\t500\n2025-01-01\t10:00:01\t200\t500\n" +
				"#Fields: date time sc-status\n2025-01-01\t10:00:02\t404\n"
			got, st := readAll(t, []byte(text), WithSource("logs/E1.gz"))
			checkBalance(t, st)
			if st.Rows != 1 || st.RejectedBy[ReasonDuplicateField] != 2 || st.Rejected != 2 {
				t.Fatalf("rows %d rejected %v; want 1 row and 2 duplicate_field", st.Rows, st.RejectedBy)
			}
			if got["sc_status"][0] != "404" {
				t.Errorf("row of the good block: sc_status %q", got["sc_status"][0])
			}
			for i, s := range st.Samples {
				if s.Source != "logs/E1.gz" || s.Line != int64(i+2) || s.Field != tt.field || !strings.Contains(s.Detail, "twice") {
					t.Errorf("sample %d: %+v; want logs/E1.gz line %d, field %s", i, s, i+2, tt.field)
				}
			}
		})
	}
}

// TestUnknownFieldsCapped: a header of thousands of made-up names lists
// MaxUnknownFields of them and counts the rest, and its records still
// read.
func TestUnknownFieldsCapped(t *testing.T) {
	const unknown = 10000
	var hdr, line strings.Builder
	hdr.WriteString("#Fields: date time sc-status")
	line.WriteString("2025-01-01\t10:00:00\t200")
	for i := range unknown {
		fmt.Fprintf(&hdr, " x-made-up-%d", i)
		line.WriteString("\tv")
	}
	block := hdr.String() + "\n" + line.String() + "\n"
	got, st := readAll(t, []byte(block+block))
	checkBalance(t, st)
	if st.Rows != 2 || st.Rejected != 0 || got["sc_status"][1] != "200" {
		t.Fatalf("rows %d rejected %v", st.Rows, st.RejectedBy)
	}
	if len(st.UnknownFields) != MaxUnknownFields {
		t.Errorf("%d unknown names listed, want %d", len(st.UnknownFields), MaxUnknownFields)
	}
	for name, n := range st.UnknownFields {
		if n != 2 {
			t.Errorf("%s counted %d times, want once per header", name, n)
		}
	}
	if want := int64(2 * (unknown - MaxUnknownFields)); st.UnknownFieldsOmitted != want {
		t.Errorf("omitted %d, want %d", st.UnknownFieldsOmitted, want)
	}
}
