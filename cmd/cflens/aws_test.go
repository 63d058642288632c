package main

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest/s3test"
)

// isolateAWS points the AWS configuration at nothing of this machine's and
// sets test credentials.
func isolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_ACCESS_KEY_ID":           s3test.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       s3test.SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_CA_BUNDLE":               "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
}

func TestCheckEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		insecure bool
		wantErr  bool
	}{
		{name: "https", endpoint: "https://s3.example.com"},
		{name: "http loopback v4", endpoint: "http://127.0.0.1:9000"},
		{name: "http loopback v4 other", endpoint: "http://127.1.2.3:9000"},
		{name: "http localhost", endpoint: "http://localhost:9000"},
		{name: "http loopback v6", endpoint: "http://[::1]:9000"},
		{name: "http remote", endpoint: "http://10.0.0.5:9000", wantErr: true},
		{name: "http remote name", endpoint: "http://minio.internal:9000", wantErr: true},
		{name: "http remote allowed", endpoint: "http://10.0.0.5:9000", insecure: true},
		{name: "other scheme", endpoint: "ftp://127.0.0.1/", wantErr: true},
		{name: "not a url", endpoint: "127.0.0.1:9000", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEndpoint(tt.endpoint, tt.insecure)
			if (err != nil) != tt.wantErr {
				t.Fatalf("checkEndpoint(%q, %v) = %v, want error %v", tt.endpoint, tt.insecure, err, tt.wantErr)
			}
			var uerr *usage.Error
			if err != nil && !errors.As(err, &uerr) {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}

func TestLoadS3Client(t *testing.T) {
	tls := httptest.NewTLSServer(nil)
	defer tls.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tls.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		opts      awsOptions
		env       map[string]string
		wantErr   bool
		wantUsage bool
	}{
		{name: "region flag", opts: awsOptions{region: "eu-west-1"}},
		{name: "region from env", env: map[string]string{"AWS_REGION": "eu-west-1"}},
		{name: "no region", wantErr: true, wantUsage: true},
		{name: "endpoint without region", opts: awsOptions{endpoint: "http://127.0.0.1:9"}},
		{name: "remote plain http endpoint", opts: awsOptions{endpoint: "http://192.0.2.1:9000"}, wantErr: true, wantUsage: true},
		{name: "remote plain http from env", env: map[string]string{"AWS_ENDPOINT_URL_S3": "http://192.0.2.1:9000"}, wantErr: true, wantUsage: true},
		{name: "remote plain http allowed", opts: awsOptions{endpoint: "http://192.0.2.1:9000", allowInsecureEndpoint: true}},
		{name: "ca bundle", opts: awsOptions{region: "eu-west-1"}, env: map[string]string{"AWS_CA_BUNDLE": bundle}},
		{name: "missing profile", opts: awsOptions{region: "eu-west-1", profile: "nosuchprofile"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWS(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := loadS3Client(context.Background(), tt.opts, os.Getenv)
			if (err != nil) != tt.wantErr {
				t.Fatalf("loadS3Client = %v, want error %v", err, tt.wantErr)
			}
			var uerr *usage.Error
			if tt.wantUsage && !errors.As(err, &uerr) {
				t.Errorf("error %v is not a usage error", err)
			}
			if err == nil && c == nil {
				t.Fatal("no client and no error")
			}
			if err == nil {
				o := c.Options()
				custom := tt.opts.endpoint != "" || tt.env["AWS_ENDPOINT_URL_S3"] != ""
				if o.UsePathStyle != custom {
					t.Errorf("path style = %v, want %v", o.UsePathStyle, custom)
				}
				if o.RetryMode != aws.RetryModeStandard {
					t.Errorf("retry mode = %q, want standard", o.RetryMode)
				}
				wantCalc := aws.RequestChecksumCalculationWhenSupported
				if custom {
					wantCalc = aws.RequestChecksumCalculationWhenRequired
				}
				if o.RequestChecksumCalculation != wantCalc {
					t.Errorf("request checksum calculation = %v, want %v", o.RequestChecksumCalculation, wantCalc)
				}
			}
		})
	}
}

// TestS3SourceFromFlags reads a bucket of versitygw through the functions
// the ingest command calls, with credentials from the environment, and
// checks that no message carries the secret.
func TestS3SourceFromFlags(t *testing.T) {
	srv := s3test.Start(t)
	isolateAWS(t)
	direct := s3test.Client(srv.URL)
	s3test.CreateBucket(t, direct, "cflens-cmd")
	s3test.PutObjects(t, direct, "cflens-cmd", []s3test.Object{
		{Key: "logs/E1PROD0000001.2025-09-10-08.aaaa.gz", Body: []byte("production")},
		{Key: "logs/E2STAGE000001.2025-09-10-08.bbbb.gz", Body: []byte("staging")},
		{Key: "logs/E3OTHER000001.2025-09-10-08.cccc.gz", Body: []byte("other")},
	})
	a := awsOptions{endpoint: srv.URL, loaded: &awsClient{}}
	ctx := context.Background()
	ids := map[string]string{"E1PROD0000001": "production", "E2STAGE000001": "staging"}

	src, err := newS3Source(ctx, "s3://cflens-cmd/logs/", a, ids)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for ref, err := range src.List(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		rc, err := src.Open(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		got[ref.Role] = string(b)
	}
	if got["production"] != "production" || got["staging"] != "staging" || len(got) != 2 {
		t.Errorf("read %q, want the production and staging objects only", got)
	}

	c1, err := a.s3Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := a.s3Client(ctx)
	if c1 != c2 {
		t.Error("the AWS configuration was loaded twice")
	}

	store, err := newS3Store(ctx, "s3://cflens-cmd/dataset/", a)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, "a/b.parquet", strings.NewReader("PAR1 data PAR1"), 14); err != nil {
		t.Fatalf("put: %v", err)
	}
	rc, err := store.Get(ctx, "a/b.parquet")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "PAR1 data PAR1" {
		t.Errorf("get = %q, %v; want what was put", b, err)
	}

	// Errors name the bucket and key, never the secret.
	missing, err := newS3Source(ctx, "s3://no-such-bucket-here/logs/", a, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range missing.List(ctx, time.Time{}, time.Time{}) {
		if err == nil {
			t.Fatal("listing a missing bucket succeeded")
		}
		if strings.Contains(err.Error(), s3test.SecretKey) {
			t.Errorf("error carries the secret: %v", err)
		}
		break
	}
	if _, err := newS3Source(ctx, "s3://Bad_Bucket/", a, ids); err == nil {
		t.Error("a bad bucket name was accepted")
	}
}
