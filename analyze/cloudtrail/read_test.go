package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	prodID    = "E1PRODEXAMPLE"
	stagingID = "E2STAGEEXAMPLE"
	otherID   = "E3OTHEREXAMPLE"
	policyID  = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
)

// plainFiles stay plain JSON in the trail built for tests; the others are
// gzipped, as CloudTrail delivers them.
var plainFiles = map[string]bool{
	"111122223333_CloudTrail_us-east-1_20250910T0935Z_Wx1Yz2Ab3Cd4Ef5G.json": true,
	"111122223333_CloudTrail_us-east-1_20250910T1205Z_De6Fg7Hi8Jk9Lm0N.json": true,
}

// trail copies testdata/trail into a temporary folder, gzipping the log
// files not in plainFiles (and renaming them .json.gz), and returns the
// folder.
func trail(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", "trail")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if !plainFiles[d.Name()] {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data, out = buf.Bytes(), out+".gz"
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func dirSource(t *testing.T, dir string) []ingest.Source {
	t.Helper()
	src, err := dirsource.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return []ingest.Source{src}
}

func yamlOf(t *testing.T, tl *analyze.Timeline) string {
	t.Helper()
	var buf bytes.Buffer
	if err := tl.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}

func TestReadTrail(t *testing.T) {
	dir := trail(t)
	opts := DefaultOptions()
	opts.Production, opts.Staging = prodID, stagingID
	tl, rep, err := Read(context.Background(), dirSource(t, dir), opts)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "timeline.golden", yamlOf(t, tl))

	want := &Report{
		Files:              6,
		SkippedFiles:       1, // the digest
		Records:            19,
		CloudFrontEvents:   16,
		Duplicates:         2,
		Relevant:           10,
		OtherDistributions: 2, // an update of another distribution, a policy for another staging domain
		Failed: []FailedCall{
			{EventID: "5ab00007-0fc5-43d0-b7b6-90293example", EventName: "UpdateDistribution", Time: mustTime("2025-09-10T09:30:00Z"),
				Resource: prodID, ErrorCode: "PreconditionFailed", ErrorMessage: "The If-Match version is missing or not valid for the resource."},
			{EventID: "5ab00012-0fc5-43d0-b7b6-90293example", EventName: "UpdateContinuousDeploymentPolicy", Time: mustTime("2025-09-10T11:20:00Z"),
				Resource: policyID, ErrorCode: "InvalidArgument", ErrorMessage: "Weight must be between 0 and 0.15"},
		},
		Production: prodID,
		Staging:    stagingID,
		Policies:   []string{policyID},
		Changes:    len(tl.Changes),
	}
	if d := cmp.Diff(want, rep, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("report mismatch (-want +got):\n%s", d)
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestTimelineRoundTrip reads the timeline back with the analyzer's reader
// and checks the windows it cuts: the combinations of the case that
// motivates cflens.
func TestTimelineRoundTrip(t *testing.T) {
	opts := DefaultOptions()
	opts.Production, opts.Staging = prodID, stagingID
	tl, _, err := Read(context.Background(), dirSource(t, trail(t)), opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tl.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := analyze.ReadTimeline(&buf, "cloudtrail.yaml")
	if err != nil {
		t.Fatalf("analyzer rejects the timeline: %v\n%s", err, buf.String())
	}
	if d := cmp.Diff(tl, back, cmpopts.IgnoreFields(analyze.Change{}, "Line")); d != "" {
		t.Errorf("round trip mismatch (-wrote +read):\n%s", d)
	}
	ws, err := analyze.Windows(back, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.From.Format("15:04:05")+" "+w.Label)
	}
	want := []string{
		"00:00:00 custom errors prod ?, staging ?; policy ?",
		"08:00:05 custom errors prod on, staging ?; policy off",
		"08:10:00 custom errors prod on, staging on; policy off",
		"08:20:00 custom errors prod on, staging on; policy weighted 15% sticky",
		"09:00:00 custom errors prod on, staging off; policy weighted 15% sticky",
		"10:00:00 custom errors prod off, staging off; policy weighted 15% sticky",
		"10:30:00 custom errors prod off, staging on; policy weighted 15% sticky",
		"11:00:00 custom errors prod off, staging on; policy off",
		"11:30:00 custom errors prod off, staging on; policy weighted 15% sticky",
		"12:00:00 custom errors prod on, staging on; policy off",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("windows mismatch (-want +got):\n%s", d)
	}
}

// TestReadRoles checks which distributions are followed when not both
// roles are given.
func TestReadRoles(t *testing.T) {
	dir := trail(t)
	tests := []struct {
		name                    string
		opts                    Options
		wantProd, wantStaging   string
		wantErr                 error
		wantChangesLikeTheTrail bool
	}{
		{name: "both given", opts: Options{Production: prodID, Staging: stagingID}, wantProd: prodID, wantStaging: stagingID, wantChangesLikeTheTrail: true},
		{name: "staging found by the copy and the promotion", opts: Options{Production: prodID}, wantProd: prodID, wantStaging: stagingID, wantChangesLikeTheTrail: true},
		{name: "production found by the promotion", opts: Options{Staging: stagingID}, wantProd: prodID, wantStaging: stagingID, wantChangesLikeTheTrail: true},
		{name: "roles read from the record", opts: Options{Distributions: []string{stagingID, prodID}}, wantProd: prodID, wantStaging: stagingID, wantChangesLikeTheTrail: true},
		{name: "a distribution without a role in the record", opts: Options{Distributions: []string{otherID}}, wantErr: ErrRole},
		{name: "nothing given", opts: Options{}, wantErr: ErrNoDistribution},
	}
	ref := func() string {
		tl, _, err := Read(context.Background(), dirSource(t, dir), Options{Production: prodID, Staging: stagingID})
		if err != nil {
			t.Fatal(err)
		}
		return yamlOf(t, tl)
	}()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl, rep, err := Read(context.Background(), dirSource(t, dir), tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Production != tt.wantProd || rep.Staging != tt.wantStaging {
				t.Errorf("roles = %q, %q; want %q, %q", rep.Production, rep.Staging, tt.wantProd, tt.wantStaging)
			}
			if got := yamlOf(t, tl); tt.wantChangesLikeTheTrail && got != ref {
				t.Errorf("timeline differs from the one with both roles given:\n%s", cmp.Diff(ref, got))
			}
		})
	}
}

// TestReadRange checks that events outside [From, To) are left out and
// counted, and files delivered long before From are not read.
func TestReadRange(t *testing.T) {
	opts := Options{Production: prodID, Staging: stagingID, From: mustTime("2025-09-10T10:00:00Z"), To: mustTime("2025-09-10T11:30:00Z")}
	tl, rep, err := Read(context.Background(), dirSource(t, trail(t)), opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range tl.Changes {
		got = append(got, c.At.Format("15:04:05"))
	}
	want := []string{"10:00:00", "10:30:00", "11:00:00"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("change times mismatch (-want +got):\n%s\n%s", d, yamlOf(t, tl))
	}
	// Files delivered at 08:05 and 08:20 are more than an hour before From.
	if rep.Files != 4 || rep.SkippedFiles != 3 {
		t.Errorf("files read %d, skipped %d; want 4, 3", rep.Files, rep.SkippedFiles)
	}
	if rep.OutOfRange == 0 {
		t.Errorf("no event counted out of range")
	}
	for _, c := range tl.Changes {
		if c.At.Before(opts.From) || !c.At.Before(opts.To) {
			t.Errorf("change at %s outside the range", c.At)
		}
	}
}

// TestReadBrokenFile checks that a file cut short makes the run
// incomplete and keeps the events of the other files.
func TestReadBrokenFile(t *testing.T) {
	dir := trail(t)
	var victim string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if strings.Contains(p, "T1035Z") {
			victim = p
		}
		return nil
	})
	data, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	tl, rep, err := Read(context.Background(), dirSource(t, dir), Options{Production: prodID, Staging: stagingID})
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("err = %v, want ingest.ErrIncomplete", err)
	}
	if tl == nil || rep == nil || len(rep.FileErrors) != 1 || !strings.Contains(rep.FileErrors[0].File, "T1035Z") {
		t.Fatalf("want a timeline and one file error for the cut file, got %+v", rep)
	}
	if len(tl.Changes) == 0 {
		t.Errorf("the events of the other files are lost")
	}
}
