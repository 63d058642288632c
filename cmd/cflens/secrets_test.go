package main

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cflens/cflens/ingest/loggen"
)

// Canary credentials: if either shows up in any output, a secret leaked.
const (
	canarySecret = "CANARYsecretKEY0123456789abcdefghijklmnop"
	canaryToken  = "CANARYsessionTOKEN-zyxwvutsrqponm-0123456789"
	canaryKeyID  = "AKIACANARYEXAMPLE"
)

// canaries are the credentials that must never be printed or written.
var canaries = []string{canarySecret, canaryToken, canaryKeyID}

// hostileS3 is an S3 endpoint on loopback that fails every request. In
// "echo" mode it answers 403 SignatureDoesNotMatch with the request's
// signing material in the body, as S3 itself does (the canonical request
// holds the session token); in "headers" mode, 400 with the request's
// headers and a presigned URL quoted in the error message itself, which
// the client then reports; in "busy" mode, 503 SlowDown, so that the
// client retries and the run logs each failure.
func hostileS3(t *testing.T, mode string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		if mode == "busy" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>`)
			return
		}
		if mode == "headers" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code><Message>bad request; headers: Authorization: %s X-Amz-Security-Token: %s; retry with https://%s%s?X-Amz-Credential=%s%%2F20250910%%2Fus-east-1%%2Fs3%%2Faws4_request&amp;X-Amz-Security-Token=%s&amp;X-Amz-Signature=0123abcd for key %s</Message><RequestId>1</RequestId></Error>`,
				r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token"), r.Host, r.URL.Path, canaryKeyID, r.Header.Get("X-Amz-Security-Token"), canaryKeyID)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>%s</AWSAccessKeyId><StringToSign>%s</StringToSign><CanonicalRequest>%s %s
x-amz-security-token:%s</CanonicalRequest><RequestId>1</RequestId></Error>`,
			canaryKeyID, r.Header.Get("Authorization"), r.Method, r.URL.Path, r.Header.Get("X-Amz-Security-Token"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCredentialsNeverPrinted runs commands that reach S3 with canary
// credentials in the environment, verbose logs on, against endpoints
// that fail every request (one echoing the signing material back, as S3
// does), and checks that neither canary appears in stdout, stderr, the
// summary, the analysis, or any file the commands wrote.
func TestCredentialsNeverPrinted(t *testing.T) {
	home := t.TempDir()
	env := []string{
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID=" + canaryKeyID,
		"AWS_SECRET_ACCESS_KEY=" + canarySecret,
		"AWS_SESSION_TOKEN=" + canaryToken,
		"AWS_REGION=us-east-1",
		"AWS_PROFILE=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3=", "AWS_CA_BUNDLE=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	logs := writeScenario(t, 2, 0.2)
	timeline := filepath.Join(home, "timeline.yaml")
	if err := os.WriteFile(timeline, []byte("changes: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var runs int
	for _, mode := range []string{"echo", "headers", "busy"} {
		endpoint := hostileS3(t, mode)
		work := t.TempDir()
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"ingest from s3", []string{"ingest", "s3://cflens-logs/cf/", "--production", "E2QWRUHEXAMPLE", "--endpoint", endpoint, "-v",
				"--from", "2025-09-10", "--to", "2025-09-11", "--out", filepath.Join(work, "ds"), "--summary", filepath.Join(work, "ingest.json")}},
			{"ingest into s3", []string{"ingest", logs, "--endpoint", endpoint, "-v", "--out", "s3://cflens-data/ds/", "--summary", filepath.Join(work, "ingest2.json")}},
			{"analyze from s3", []string{"analyze", "s3://cflens-logs/cf/", "--production", "E2QWRUHEXAMPLE", "--endpoint", endpoint, "-v",
				"--from", "2025-09-10", "--to", "2025-09-11", "--timeline", timeline, "--format", "json", "--out", filepath.Join(work, "analysis.json")}},
			{"analyze dataset on s3", []string{"analyze", "--dataset", "s3://cflens-data/ds/", "--endpoint", endpoint, "-v", "--timeline", timeline}},
		} {
			if mode == "busy" && tc.name != "ingest from s3" {
				continue // retries take seconds; one command shows their logs
			}
			t.Run(mode+" "+tc.name, func(t *testing.T) {
				code, stdout, stderr := runCLIChild(t, env, tc.args...)
				runs++
				if code == 0 {
					t.Errorf("exit 0 against an endpoint that fails every request\n%s", stderr)
				}
				if stderr == "" {
					t.Errorf("no error printed")
				}
				if mode == "headers" && !strings.Contains(stderr, "[REDACTED]") {
					t.Errorf("the echoed headers are not shown redacted, so this test proves nothing:\n%s", stderr)
				}
				for _, canary := range canaries {
					if strings.Contains(stdout, canary) || strings.Contains(stderr, canary) {
						t.Errorf("a canary credential is printed:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
					}
				}
			})
		}
		filepath.WalkDir(work, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, canary := range canaries {
				if strings.Contains(string(b), canary) {
					t.Errorf("%s holds a canary credential", p)
				}
			}
			return nil
		})
	}
	t.Logf("%d commands run with canary credentials", runs)
}

// TestTemporaryFiles ingests legacy and v2 Parquet logs (the latter are
// copied to a temporary file to be read) with TMPDIR pointing at an empty
// folder. While the run goes, every temporary file seen in TMPDIR or in
// the dataset must be private (0600); at the end none may remain.
func TestTemporaryFiles(t *testing.T) {
	logs := writeScenario(t, 6, 1)
	sc := loggen.DefaultScenario(0.5)
	sc.Hours = 6
	sc.Windows = sc.Windows[:1]
	sc.Peaks = nil
	sc.Seed = 2
	if _, err := loggen.Generate(context.Background(), sc, loggen.Output{Create: loggen.DirCreate(filepath.Join(logs, "v2")), Format: loggen.V2Parquet}); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	out := filepath.Join(t.TempDir(), "ds")
	cmd := cliCommand(context.Background(), "ingest", logs, "--out", out, "--workers", "4", "--checkpoint-bytes", "1000000",
		"--summary", filepath.Join(out+"-summary.json"))
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	var stderr strings.Builder
	cmd.Stderr = &stderr

	// Temporary files in TMPDIR (copies of log objects) must be 0600
	// whenever seen. Those in the dataset become data files: they are
	// made readable just before their rename, when complete, so they
	// must be 0600 while they grow.
	type seen struct {
		mode fs.FileMode
		size int64
	}
	var mu sync.Mutex
	temps := map[string][]seen{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			for _, root := range []string{tmp, out} {
				filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
					if err != nil || e.IsDir() {
						return nil
					}
					if root == out && !strings.HasPrefix(e.Name(), ".") {
						return nil // data files and the journal are not temporary
					}
					if info, err := e.Info(); err == nil {
						mu.Lock()
						temps[p] = append(temps[p], seen{info.Mode().Perm(), info.Size()})
						mu.Unlock()
					}
					return nil
				})
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	err := cmd.Run()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr.String())
	}
	for p, obs := range temps {
		for i, o := range obs {
			switch {
			case strings.HasPrefix(p, tmp) && o.mode != 0o600:
				t.Errorf("temporary file %s has mode %v, want 0600", p, o.mode)
			case o.mode != 0o600 && i+1 < len(obs) && obs[i+1].size != o.size:
				t.Errorf("temporary file %s grows while it has mode %v, want 0600", p, o.mode)
			}
		}
	}
	var left []string
	for _, root := range []string{tmp, out} {
		filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && (root == tmp || strings.HasPrefix(e.Name(), ".")) {
				left = append(left, p)
			}
			return nil
		})
	}
	if len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	inTmp := 0
	for p := range temps {
		if strings.HasPrefix(p, tmp) {
			inTmp++
		}
	}
	t.Logf("%d temporary files seen during the run (%d in TMPDIR); none left", len(temps), inTmp)
}
