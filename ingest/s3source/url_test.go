package s3source

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Location
		wantErr bool
	}{
		{name: "bucket only", in: "s3://my-logs", want: Location{Bucket: "my-logs"}},
		{name: "bucket slash", in: "s3://my-logs/", want: Location{Bucket: "my-logs"}},
		{name: "prefix gets slash", in: "s3://my-logs/cf", want: Location{Bucket: "my-logs", Prefix: "cf/"}},
		{name: "nested prefix", in: "s3://my.logs/a/b/", want: Location{Bucket: "my.logs", Prefix: "a/b/"}},
		{name: "wrong scheme", in: "https://my-logs/cf/", wantErr: true},
		{name: "no bucket", in: "s3:///cf/", wantErr: true},
		{name: "upper case bucket", in: "s3://MyLogs/", wantErr: true},
		{name: "short bucket", in: "s3://ab/", wantErr: true},
		{name: "query", in: "s3://my-logs/cf/?x=1", wantErr: true},
		{name: "empty segment", in: "s3://my-logs/a//b/", wantErr: true},
		{name: "bucket ends in dash", in: "s3://my-logs-/", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseURL(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseURL(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if err == nil {
				if back, err := ParseURL(got.String()); err != nil || back != got {
					t.Errorf("ParseURL(%q) = %v, %v; want a round trip of %v", got.String(), back, err, got)
				}
			}
		})
	}
}
