package cloudtrail

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		wantIDs       []string
		wantRecords   int64
		wantMalformed int64
		wantErr       string // substring; empty for a clean end
		wantErrIs     error
	}{
		{name: "records", in: `{"Records":[{"eventID":"a"},{"eventID":"b"}]}`, wantIDs: []string{"a", "b"}, wantRecords: 2},
		{name: "white space and a final newline", in: " {\n \"Records\" : [ {\"eventID\":\"a\"} ] }\n", wantIDs: []string{"a"}, wantRecords: 1},
		{name: "members around the records", in: `{"x":{"y":[1,2]},"Records":[{"eventID":"a"}],"z":"w"}`, wantIDs: []string{"a"}, wantRecords: 1},
		{name: "records key in another case", in: `{"records":[{"eventID":"a"}]}`, wantIDs: []string{"a"}, wantRecords: 1},
		{name: "no records", in: `{"Records":[]}`},
		{name: "records null", in: `{"Records":null}`},
		{name: "digest-like object", in: `{"awsAccountId":"111122223333","logFiles":[]}`},
		{name: "bare array", in: `[{"eventID":"a"},{"eventID":"b"}]`, wantIDs: []string{"a", "b"}, wantRecords: 2},
		{name: "a record that is not an object", in: `{"Records":[1,{"eventID":"a"},"x"]}`, wantIDs: []string{"a"}, wantRecords: 3, wantMalformed: 2},
		{name: "a field of the wrong type", in: `{"Records":[{"eventID":7},{"eventID":"a"}]}`, wantIDs: []string{"a"}, wantRecords: 2, wantMalformed: 1},
		{name: "cut inside a record", in: `{"Records":[{"eventID":"a"},{"eventID":"b`, wantIDs: []string{"a"}, wantRecords: 1, wantErrIs: io.ErrUnexpectedEOF},
		{name: "cut after the array", in: `{"Records":[{"eventID":"a"}]`, wantIDs: []string{"a"}, wantRecords: 1, wantErrIs: io.ErrUnexpectedEOF},
		{name: "garbage after the end", in: `{"Records":[{"eventID":"a"}]} x`, wantIDs: []string{"a"}, wantRecords: 1, wantErr: "invalid character"},
		{name: "a second object", in: `{"Records":[]}{"Records":[]}`, wantErr: "after the end"},
		{name: "records not an array", in: `{"Records":{"eventID":"a"}}`, wantErrIs: ErrNotCloudTrail},
		{name: "empty", in: ``, wantErrIs: ErrNotCloudTrail},
		{name: "a number", in: `42`, wantErrIs: ErrNotCloudTrail},
		{name: "not JSON", in: `#Version: 1.0`, wantErr: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in))
			var ids []string
			for r.Next() {
				ids = append(ids, r.Record().EventID)
			}
			if d := cmp.Diff(tt.wantIDs, ids); d != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", d)
			}
			if r.Records != tt.wantRecords || r.Malformed != tt.wantMalformed {
				t.Errorf("records %d, malformed %d; want %d, %d", r.Records, r.Malformed, tt.wantRecords, tt.wantMalformed)
			}
			err := r.Err()
			switch {
			case tt.wantErrIs != nil:
				if !errors.Is(err, tt.wantErrIs) {
					t.Errorf("err = %v, want %v", err, tt.wantErrIs)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("err = %v, want none", err)
			}
			if r.Next() {
				t.Errorf("Next is true after the end")
			}
		})
	}
}

// FuzzReader feeds arbitrary bytes to the record reader: it must not
// panic, must stop, and must count every record it yields.
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "trail", "AWSLogs", "*", "CloudTrail", "*", "*", "*", "*", "*.json"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{`{"Records":[]}`, `[{"eventID":"a"}]`, `{"Records":[1,{"eventTime":"x"}]}`, `{"Records":[{"eventID":"a"}`, `{}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(strings.NewReader(string(data)))
		var yielded int64
		for r.Next() {
			yielded++
			if yielded > int64(len(data)) {
				t.Fatalf("more records than bytes")
			}
			rec := r.Record()
			if n, use := eventName(rec); use {
				// Decoding the parameters of any shape must not panic.
				_, _ = decodeEvent(rec, n, "fuzz", yielded)
			}
		}
		if yielded+r.Malformed != r.Records {
			t.Errorf("yielded %d + malformed %d != records %d", yielded, r.Malformed, r.Records)
		}
	})
}

// BenchmarkReadEvents measures decoding a large CloudTrail file (mostly
// records of other services, one CloudFront update in fifty), as a
// trail of a busy account holds.
func BenchmarkReadEvents(b *testing.B) {
	var buf strings.Builder
	buf.WriteString(`{"Records":[`)
	other := `{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:jdoe","arn":"arn:aws:sts::111122223333:assumed-role/Admin/jdoe","accountId":"111122223333"},"eventTime":"2025-09-10T08:19:12Z","eventSource":"s3.amazonaws.com","eventName":"GetBucketAcl","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.17","userAgent":"aws-cli/2.27.50","requestParameters":{"bucketName":"example-logs","Host":"example-logs.s3.amazonaws.com","acl":""},"responseElements":null,"requestID":"4e6b66f9d54811e3","eventID":"5ab02562-0fc5-43d0-b7b6-90293example","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`
	cf := updateRecord(prodID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":1,"items":[{"errorCode":404,"responsePagePath":"/404.html","responseCode":"404","errorCachingMinTTL":10}]},"continuousDeploymentPolicyId":""`)
	const n = 20000
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		if i%50 == 0 {
			buf.WriteString(cf)
		} else {
			buf.WriteString(other)
		}
	}
	buf.WriteString(`]}`)
	data := buf.String()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		events, _, records, _, _, err := readEvents(b.Context(), strings.NewReader(data), "bench")
		if err != nil || records != n || len(events) != n/50 {
			b.Fatalf("records %d, events %d, err %v", records, len(events), err)
		}
	}
}
