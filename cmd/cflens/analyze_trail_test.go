package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/cflens/cflens/analyze"
)

// TestAnalyzeWindowsFromCloudTrail derives the windows from the CloudTrail
// record of analyze/cloudtrail/testdata in the same run as the analysis.
func TestAnalyzeWindowsFromCloudTrail(t *testing.T) {
	logs := t.TempDir()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("#Version: 1.0\n#Fields: date time sc-status cs-uri-stem x-edge-result-type\n" +
		"2025-09-10\t08:30:00\t500\t/missing\tError\n" + // custom errors on both: window 1
		"2025-09-10\t08:31:00\t200\t/ok\tHit\n" +
		"2025-09-10\t10:10:00\t404\t/missing\tError\n")) // both off: window 3
	zw.Close()
	if err := os.WriteFile(filepath.Join(logs, "E1PRODEXAMPLE.2025-09-10-08.aaaa.gz"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	trail := filepath.Join("..", "..", "analyze", "cloudtrail", "testdata", "trail")
	stdout, stderr, err := runCmd(t, "analyze", logs, "--production", "E1PRODEXAMPLE", "--staging", "E2STAGEEXAMPLE",
		"--windows-from-cloudtrail", trail, "--format", "json")
	if err != nil {
		t.Fatalf("analyze: %v\n%s", err, stderr)
	}
	var res analyze.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Windows) < 3 {
		t.Fatalf("%d windows from the trail, want the trail's changes", len(res.Windows))
	}
	w1 := res.Windows[0]
	if ce := w1.State.Production.CustomErrorResponses; ce == nil || !*ce {
		t.Errorf("window 1 production custom errors = %v, want on (UpdateDistribution at 08:00:05)", ce)
	}
	var got500 int64
	for _, c := range res.Cells {
		if c.Window == w1.ID && c.Role == "production" {
			got500 = c.ErrorPath500
		}
	}
	if got500 != 1 {
		t.Errorf("window 1 production error-path 500s = %d, want 1", got500)
	}
	if _, _, err := runCmd(t, "analyze", logs, "--timeline", "x.yaml", "--windows-from-cloudtrail", trail); err == nil {
		t.Error("--timeline with --windows-from-cloudtrail accepted")
	}
}
