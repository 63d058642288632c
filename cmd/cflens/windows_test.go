package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

// A small trail, shaped as CloudTrail records CloudFront calls (see
// analyze/cloudtrail/testdata/README.md): custom errors on production, a
// staging copy, a failed update, a policy sending 15% to staging, and a
// promotion.
const ctPrefix = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/09/10/"

var ctFiles = map[string]string{
	"111122223333_CloudTrail_us-east-1_20250910T0805Z_Ab1Cd2Ef3Gh4Ij5K.json.gz": `{"Records":[
 {"eventVersion":"1.11","eventTime":"2025-09-10T08:00:05Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistribution","awsRegion":"us-east-1",
  "requestParameters":{"id":"E1PRODEXAMPLE","ifMatch":"E2QWRUHEXAMPLE","distributionConfig":{"callerReference":"x","customErrorResponses":{"quantity":1,"items":[{"errorCode":404,"responsePagePath":"/404.html","responseCode":"404","errorCachingMinTTL":10}]},"continuousDeploymentPolicyId":"","staging":false}},
  "responseElements":{"distribution":{"id":"E1PRODEXAMPLE","domainName":"d111111abcdef8.cloudfront.net"},"eTag":"E3UN6WX5RRO2AG"},
  "eventID":"11111111-0fc5-43d0-b7b6-90293example","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"},
 {"eventVersion":"1.11","eventTime":"2025-09-10T08:10:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"CopyDistribution","awsRegion":"us-east-1",
  "requestParameters":{"primaryDistributionId":"E1PRODEXAMPLE","staging":true,"ifMatch":"E3UN6WX5RRO2AG","callerReference":"y"},
  "responseElements":{"distribution":{"id":"E2STAGEEXAMPLE","domainName":"d222222abcdef8.cloudfront.net","distributionConfig":{"customErrorResponses":{"quantity":0},"staging":true}}},
  "eventID":"22222222-0fc5-43d0-b7b6-90293example","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}]}`,
	"111122223333_CloudTrail_us-east-1_20250910T0835Z_Lm6No7Pq8Rs9Tu0V.json": `{"Records":[
 {"eventVersion":"1.11","eventTime":"2025-09-10T08:30:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"CreateContinuousDeploymentPolicy","awsRegion":"us-east-1",
  "requestParameters":{"continuousDeploymentPolicyConfig":{"stagingDistributionDnsNames":{"quantity":1,"items":["d222222abcdef8.cloudfront.net"]},"enabled":true,"trafficConfig":{"type":"SingleWeight","singleWeightConfig":{"weight":0.15,"sessionStickinessConfig":{"idleTTL":300,"maximumTTL":600}}}}},
  "responseElements":{"continuousDeploymentPolicy":{"id":"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}},
  "eventID":"33333333-0fc5-43d0-b7b6-90293example","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"},
 {"eventVersion":"1.11","eventTime":"2025-09-10T08:32:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistribution","awsRegion":"us-east-1",
  "errorCode":"PreconditionFailed","errorMessage":"The If-Match version is missing or not valid for the resource.",
  "requestParameters":{"id":"E1PRODEXAMPLE","ifMatch":"E2QWRUHEXAMPLE","distributionConfig":{"customErrorResponses":{"quantity":0}}},
  "responseElements":null,
  "eventID":"44444444-0fc5-43d0-b7b6-90293example","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"},
 {"eventVersion":"1.11","eventTime":"2025-09-10T08:33:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistribution","awsRegion":"us-east-1",
  "requestParameters":{"id":"E1PRODEXAMPLE","ifMatch":"E3UN6WX5RRO2AG","distributionConfig":{"customErrorResponses":{"quantity":1,"items":[{"errorCode":404}]},"continuousDeploymentPolicyId":"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}},
  "responseElements":{"distribution":{"id":"E1PRODEXAMPLE","domainName":"d111111abcdef8.cloudfront.net"}},
  "eventID":"55555555-0fc5-43d0-b7b6-90293example","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"},
 {"eventVersion":"1.11","eventTime":"2025-09-10T08:34:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistributionWithStagingConfig","awsRegion":"us-east-1",
  "requestParameters":{"id":"E1PRODEXAMPLE","stagingDistributionId":"E2STAGEEXAMPLE","ifMatch":"E1, E2"},
  "responseElements":null,
  "eventID":"66666666-0fc5-43d0-b7b6-90293example","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}]}`,
}

const ctWantYAML = `distributions:
  production: E1PRODEXAMPLE
  staging: E2STAGEEXAMPLE
changes:
  - at: "2025-09-10T08:00:05Z"
    role: production
    custom_error_responses: true
    note: UpdateDistribution 11111111-0fc5-43d0-b7b6-90293example
  - at: "2025-09-10T08:00:05Z"
    role: production
    continuous_deployment: {enabled: false}
    note: UpdateDistribution 11111111-0fc5-43d0-b7b6-90293example
  - at: "2025-09-10T08:10:00Z"
    role: staging
    custom_error_responses: false
    note: CopyDistribution 22222222-0fc5-43d0-b7b6-90293example
  - at: "2025-09-10T08:33:00Z"
    role: production
    continuous_deployment: {enabled: true, type: weighted, weight: 0.15, sticky: true}
    note: UpdateDistribution 55555555-0fc5-43d0-b7b6-90293example
  - at: "2025-09-10T08:34:00Z"
    role: production
    custom_error_responses: false
    note: UpdateDistributionWithStagingConfig 66666666-0fc5-43d0-b7b6-90293example
  - at: "2025-09-10T08:34:00Z"
    role: production
    continuous_deployment: {enabled: false}
    note: UpdateDistributionWithStagingConfig 66666666-0fc5-43d0-b7b6-90293example
`

const ctWantReport = `cloudtrail complete: 2 files (0 skipped), 6 records, 6 CloudFront calls (0 duplicates): 5 applied, 0 for other distributions, 0 out of range, 1 failed, 0 unreadable; 6 timeline changes
  production E1PRODEXAMPLE, staging E2STAGEEXAMPLE, policies a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
  skipped failed call UpdateDistribution 44444444-0fc5-43d0-b7b6-90293example on E1PRODEXAMPLE at 2025-09-10T08:32:00Z: PreconditionFailed: The If-Match version is missing or not valid for the resource.
`

// ctContent returns the bytes of a file of the small trail, gzipped when
// its name says so.
func ctContent(t *testing.T, name string) []byte {
	t.Helper()
	text := []byte(ctFiles[name])
	if !strings.HasSuffix(name, ".gz") {
		return text
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTrail(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, filepath.FromSlash(ctPrefix))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name := range ctFiles {
		if err := os.WriteFile(filepath.Join(dir, name), ctContent(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errw)
	err = root.ExecuteContext(context.Background())
	return out.String(), errw.String(), err
}

func TestWindowsFromCloudTrailLocal(t *testing.T) {
	root := writeTrail(t)
	stdout, stderr, err := runCmd(t, "windows", "from-cloudtrail", root, "--production", "E1PRODEXAMPLE", "--staging", "E2STAGEEXAMPLE")
	if err != nil {
		t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
	}
	if d := cmp.Diff(ctWantYAML, stdout); d != "" {
		t.Errorf("stdout mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(ctWantReport, stderr); d != "" {
		t.Errorf("stderr mismatch (-want +got):\n%s", d)
	}

	// --out writes the same timeline to a file, and nothing to stdout.
	out := filepath.Join(t.TempDir(), "timeline.yaml")
	stdout, _, err = runCmd(t, "windows", "from-cloudtrail", root, "--production", "E1PRODEXAMPLE", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "" || string(got) != ctWantYAML {
		t.Errorf("--out: stdout %q, file:\n%s", stdout, got)
	}
	if _, err := analyze.ParseTimeline(got, out); err != nil {
		t.Errorf("the analyzer rejects the timeline: %v", err)
	}
}

func TestWindowsFromCloudTrailUsage(t *testing.T) {
	root := writeTrail(t)
	tests := []struct {
		name string
		args []string
	}{
		{name: "no source", args: []string{"--production", "E1PRODEXAMPLE"}},
		{name: "no distribution", args: []string{root}},
		{name: "not an ID", args: []string{root, "--production", "logs/"}},
		{name: "same ID twice", args: []string{root, "--production", "E1PRODEXAMPLE", "--staging", "E1PRODEXAMPLE"}},
		{name: "bad time", args: []string{root, "--production", "E1PRODEXAMPLE", "--from", "yesterday"}},
		{name: "empty range", args: []string{root, "--production", "E1PRODEXAMPLE", "--from", "2025-09-11", "--to", "2025-09-10"}},
		{name: "role not in the record", args: []string{root, "--distribution", "E9NOTINTRAIL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, append([]string{"windows", "from-cloudtrail"}, tt.args...)...)
			var uerr *usage.Error
			if !errors.As(err, &uerr) {
				t.Errorf("err = %v, want a usage error", err)
			}
		})
	}
}

// TestWindowsFromCloudTrailS3 reads the trail from an S3 endpoint on
// loopback (gofakes3), with the digest folder and unrelated keys beside
// it.
func TestWindowsFromCloudTrailS3(t *testing.T) {
	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	const bucket = "example-trail"
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	}
	for name := range ctFiles {
		put(ctPrefix+name, ctContent(t, name))
	}
	put("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/09/10/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20250910T090000Z.json.gz", []byte("not json"))
	put("AWSLogs/111122223333/CloudTrail/us-east-1/2025/09/10/README.txt", []byte("not a log file"))

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")

	for _, tt := range []struct{ spec, skipped string }{
		{"s3://" + bucket + "/", "2 files (2 skipped)"},
		{"s3://" + bucket + "/AWSLogs/111122223333/CloudTrail/us-east-1/", "2 files (1 skipped)"},
	} {
		spec := tt.spec
		t.Run(spec, func(t *testing.T) {
			stdout, stderr, err := runCmd(t, "windows", "from-cloudtrail", spec, "--production", "E1PRODEXAMPLE",
				"--endpoint", "http://"+ln.Addr().String())
			if err != nil {
				t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
			}
			if d := cmp.Diff(ctWantYAML, stdout); d != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", d)
			}
			// The digest (when under the prefix) and the README are listed
			// and skipped.
			if !strings.Contains(stderr, tt.skipped) {
				t.Errorf("stderr:\n%s", stderr)
			}
		})
	}
}

// TestTimelineFromCloudTrail checks the function that analyze calls with
// the roles of its sources, including a run with a file that cannot be
// read.
func TestTimelineFromCloudTrail(t *testing.T) {
	root := writeTrail(t)
	roles := map[string]string{"E1PRODEXAMPLE": schema.RoleProduction, "E2STAGEEXAMPLE": schema.RoleStaging}
	var stderr bytes.Buffer
	tl, err := timelineFromCloudTrail(context.Background(), []string{root}, awsOptions{}, roles, time.Time{}, time.Time{}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tl.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ctWantYAML, buf.String()); d != "" {
		t.Errorf("timeline mismatch (-want +got):\n%s", d)
	}

	two := map[string]string{"E1PRODEXAMPLE": schema.RoleProduction, "E1OTHEREXAMPLE": schema.RoleProduction}
	var uerr *usage.Error
	if _, err := timelineFromCloudTrail(context.Background(), []string{root}, awsOptions{}, two, time.Time{}, time.Time{}, &stderr); !errors.As(err, &uerr) {
		t.Errorf("two production distributions: err = %v, want a usage error", err)
	}

	bad := filepath.Join(root, filepath.FromSlash(ctPrefix), "111122223333_CloudTrail_us-east-1_20250910T0900Z_Zz9Yy8Xx7Ww6Vv5U.json")
	if err := os.WriteFile(bad, []byte(`{"Records":[{"eventTime":`), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	tl, err = timelineFromCloudTrail(context.Background(), []string{root}, awsOptions{}, roles, time.Time{}, time.Time{}, &stderr)
	if !errors.Is(err, ingest.ErrIncomplete) || tl == nil || len(tl.Changes) != 6 {
		t.Errorf("with a cut file: err = %v, timeline %v; want ErrIncomplete and the 6 changes", err, tl)
	}
	if !strings.Contains(stderr.String(), "cloudtrail INCOMPLETE") || !strings.Contains(stderr.String(), "unread file") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// fakeCloudFront answers GetDistributionConfig and
// GetContinuousDeploymentPolicy from maps.
type fakeCloudFront struct {
	configs  map[string]*cftypes.DistributionConfig
	policies map[string]*cftypes.ContinuousDeploymentPolicyConfig
	calls    []string
}

func (f *fakeCloudFront) GetDistributionConfig(_ context.Context, in *cloudfront.GetDistributionConfigInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error) {
	id := aws.ToString(in.Id)
	f.calls = append(f.calls, "GetDistributionConfig "+id)
	c, ok := f.configs[id]
	if !ok {
		return nil, errors.New("NoSuchDistribution")
	}
	return &cloudfront.GetDistributionConfigOutput{DistributionConfig: c}, nil
}

func (f *fakeCloudFront) GetContinuousDeploymentPolicy(_ context.Context, in *cloudfront.GetContinuousDeploymentPolicyInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetContinuousDeploymentPolicyOutput, error) {
	id := aws.ToString(in.Id)
	f.calls = append(f.calls, "GetContinuousDeploymentPolicy "+id)
	c, ok := f.policies[id]
	if !ok {
		return nil, errors.New("NoSuchContinuousDeploymentPolicy")
	}
	return &cloudfront.GetContinuousDeploymentPolicyOutput{ContinuousDeploymentPolicy: &cftypes.ContinuousDeploymentPolicy{Id: in.Id, ContinuousDeploymentPolicyConfig: c}}, nil
}

func TestWindowsFromCloudTrailCurrent(t *testing.T) {
	root := writeTrail(t)
	api := &fakeCloudFront{
		configs: map[string]*cftypes.DistributionConfig{
			// Custom errors were switched back on after the record.
			"E1PRODEXAMPLE": {
				CustomErrorResponses:         &cftypes.CustomErrorResponses{Quantity: aws.Int32(1), Items: []cftypes.CustomErrorResponse{{ErrorCode: aws.Int32(404)}}},
				ContinuousDeploymentPolicyId: aws.String("a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"),
			},
			"E2STAGEEXAMPLE": {CustomErrorResponses: &cftypes.CustomErrorResponses{Quantity: aws.Int32(0)}, Staging: aws.Bool(true)},
		},
		policies: map[string]*cftypes.ContinuousDeploymentPolicyConfig{
			"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111": {
				Enabled: aws.Bool(false),
				TrafficConfig: &cftypes.TrafficConfig{
					Type: cftypes.ContinuousDeploymentPolicyTypeSingleWeight,
					SingleWeightConfig: &cftypes.ContinuousDeploymentSingleWeightConfig{
						Weight:                  aws.Float32(0.15),
						SessionStickinessConfig: &cftypes.SessionStickinessConfig{IdleTTL: aws.Int32(300), MaximumTTL: aws.Int32(600)},
					},
				},
			},
		},
	}
	o := &windowsCloudTrailOptions{
		specs: []string{root}, production: "E1PRODEXAMPLE", workers: 2, current: true,
		cloudFront: api,
	}
	var stdout, stderr bytes.Buffer
	s := &IOStreams{Out: &stdout, Err: &stderr, Now: func() time.Time { return time.Date(2025, 9, 12, 0, 0, 0, 0, time.UTC) }}
	if err := runWindowsFromCloudTrail(context.Background(), o, s); err != nil {
		t.Fatalf("err = %v\nstderr:\n%s", err, stderr.String())
	}
	want := ctWantYAML + `  - at: "2025-09-12T00:00:00Z"
    role: production
    custom_error_responses: true
    note: current configuration 2025-09-12T00:00:00Z (differs from the record's last state)
`
	if d := cmp.Diff(want, stdout.String()); d != "" {
		t.Errorf("stdout mismatch (-want +got):\n%s", d)
	}
	wantWarning := "  warning: production custom error responses is true now but false after the last change in the record: it changed later, or in files not read\n"
	if !strings.HasSuffix(stderr.String(), wantWarning) {
		t.Errorf("stderr does not end with the warning:\n%s", stderr.String())
	}
	wantCalls := []string{"GetDistributionConfig E1PRODEXAMPLE", "GetContinuousDeploymentPolicy a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "GetDistributionConfig E2STAGEEXAMPLE"}
	if d := cmp.Diff(wantCalls, api.calls); d != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", d)
	}

	o.to = "2025-09-11"
	var uerr *usage.Error
	if err := runWindowsFromCloudTrail(context.Background(), o, s); !errors.As(err, &uerr) {
		t.Errorf("--current with --to: err = %v, want a usage error", err)
	}
}
