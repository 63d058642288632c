package report

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/logparse"
)

// analyzeLog runs the real parser and aggregator over testdata/hostile.log
// (lines whose URI stem, referer, user agent, query and detailed result
// type hold script, javascript: and attribute-breaking payloads, raw and
// percent-encoded), read once as production and once as staging.
func analyzeLog(t *testing.T) *analyze.Result {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	agg, err := analyze.NewAggregator(analyze.Options{Production: "E2PRODEXAMPLE", Staging: "E3STAGEXAMPLE"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range []struct{ id, role string }{{"E2PRODEXAMPLE", "production"}, {"E3STAGEXAMPLE", "staging"}} {
		f, err := os.Open("testdata/hostile.log")
		if err != nil {
			t.Fatal(err)
		}
		ref := ingest.ObjectRef{Key: d.id + ".2026-11-02-00.hostile.gz", DistributionID: d.id, Role: d.role}
		sink, err := agg.Begin(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		rd := logparse.NewReader(f, logparse.WithSource(ref.Key), logparse.WithDistribution(d.id, d.role),
			logparse.WithColumns(agg.Columns()), logparse.WithAllocator(mem))
		for rd.Next() {
			if err := sink.Write(rd.Batch()); err != nil {
				t.Fatal(err)
			}
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		rd.Release()
		f.Close()
		if err := sink.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := agg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return agg.Result()
}

// payloads are the strings testdata/hostile.log carries in its fields.
var payloads = []string{
	"<script>alert(1)</script>",
	"javascript:alert(1)",
	`"><img src=x onerror=alert(1)>`,
	"%3Cscript%3Ealert(1)%3C/script%3E",
	"javascript%3Aalert(1)",
	"%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
}

func TestHostileLogInert(t *testing.T) {
	r := analyzeLog(t)
	var stems []string
	for _, p := range r.ErrorPaths.Top {
		stems = append(stems, p.Stem)
	}
	for _, p := range payloads {
		if !contains(stems, "/"+p) {
			t.Fatalf("error path /%s not in the analysis (stems %q); the test would prove nothing", p, stems)
		}
	}
	t.Run("markdown", func(t *testing.T) {
		var b bytes.Buffer
		if err := Markdown(&b, r); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script", "<img", "](javascript"} {
			if i := strings.Index(b.String(), bad); i >= 0 && (i == 0 || b.String()[i-1] != '\\') {
				t.Errorf("markdown holds %q unescaped", bad)
			}
		}
	})
	t.Run("html", func(t *testing.T) {
		var b bytes.Buffer
		if err := HTML(&b, r); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		for _, bad := range []string{"<script", "<img", "javascript:alert(1)\""} {
			if strings.Contains(page, bad) {
				t.Errorf("page source holds %q", bad)
			}
		}
	})
	t.Run("browser", func(t *testing.T) {
		bin := chromium(t)
		page := writePage(t, func(b *bytes.Buffer) error { return HTML(b, r) })
		dom, log := runChromium(t, bin, page, "--dump-dom")
		f := inspect(t, dom)
		for _, p := range f.problems {
			t.Errorf("rendered DOM: %s", p)
		}
		if n := f.elements["script"] + f.elements["img"]; n > 0 {
			t.Errorf("rendered page has %d script or img elements", n)
		}
		for _, p := range payloads {
			if !strings.Contains(f.text.String(), "/"+p) {
				t.Errorf("path /%s is not shown as text", p)
			}
		}
		if bad := consoleProblems(log); len(bad) > 0 {
			t.Errorf("console errors or CSP violations:\n%s", strings.Join(bad, "\n"))
		}
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
