package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/<name>, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

// renderings are every rendering of a result, by golden file name.
func renderings(t *testing.T, r *analyze.Result) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	render := func(name string, f func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		out[name] = b.Bytes()
	}
	render("report.txt", func(b *bytes.Buffer) error { return Text(b, r, Options{}) })
	render("report_color_w100.txt", func(b *bytes.Buffer) error { return Text(b, r, Options{Color: true, Width: 100}) })
	render("report.md", func(b *bytes.Buffer) error { return Markdown(b, r) })
	render("report.json", func(b *bytes.Buffer) error { return JSON(b, r) })
	render("report.html", func(b *bytes.Buffer) error { return HTML(b, r) })
	for _, name := range CSVTables() {
		render(name+".csv", func(b *bytes.Buffer) error { return CSV(b, r, name) })
	}
	return out
}

func TestGolden(t *testing.T) {
	for name, got := range renderings(t, fixture()) {
		t.Run(name, func(t *testing.T) { golden(t, name, got) })
	}
}

func TestDeterministic(t *testing.T) {
	first, second := renderings(t, fixture()), renderings(t, fixture())
	for name, got := range first {
		t.Run(name, func(t *testing.T) {
			if !bytes.Equal(got, second[name]) {
				t.Errorf("two renderings of one result differ")
			}
		})
	}
}

func TestEmptyResult(t *testing.T) {
	// A result with nothing in it (no rows in range) still renders.
	r := &analyze.Result{Schema: analyze.SchemaVersion}
	for name, got := range renderings(t, r) {
		if len(got) == 0 {
			t.Errorf("%s: empty output", name)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := fixture()
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var got analyze.Result
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, &got); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestTerminalSafe(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "/index.html", "/index.html"},
		{"csi", "\x1b[31mred\x1b[0m", "?[31mred?[0m"},
		{"osc title", "\x1b]0;pwned\x07", "?]0;pwned?"},
		{"c1 csi", "a\u009b31mb", "a?31mb"},
		{"newline and tab", "a\nb\tc\r", "a?b?c?"},
		{"bidi override", "abc\u202edcba.exe", "abc?dcba.exe"},
		{"zero width", "a\u200bb", "a?b"},
		{"unicode kept", "/café/ü", "/café/ü"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TerminalSafe(tt.in); got != tt.want {
				t.Errorf("TerminalSafe(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTextHasNoEscapes(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		// allowed are the only escape sequences the output may hold.
		allowed []string
	}{
		{"plain", Options{}, nil},
		{"color", Options{Color: true, Width: 80}, []string{ansiBold, ansiReset}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Text(&b, fixture(), tt.opts); err != nil {
				t.Fatal(err)
			}
			s := b.String()
			for _, a := range tt.allowed {
				s = strings.ReplaceAll(s, a, "")
			}
			for i, r := range s {
				if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x202e {
					t.Fatalf("control character %U at byte %d: %q", r, i, s[max(0, i-20):min(len(s), i+20)])
				}
			}
			if !strings.Contains(s, "?[31mred?[0m?") {
				t.Errorf("the escape sequence from a path is not shown replaced")
			}
		})
	}
}

func TestTextWidth(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, fixture(), Options{Width: 100}); err != nil {
		t.Fatal(err)
	}
	// Wrapped text and the tables whose text columns can be cut fit the
	// width; tables of numbers only are as wide as they must be.
	section := ""
	for _, line := range strings.Split(b.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, " ") {
			section = line
		}
		switch {
		case section == "FINDINGS", section == "WARNINGS", strings.HasSuffix(section, "PATHS"), strings.HasSuffix(section, "GOT 500"):
		default:
			continue
		}
		if n := len([]rune(line)); n > 100 {
			t.Errorf("%s: line of %d runes exceeds the width: %q", section, n, line)
		}
	}
	if !strings.Contains(b.String(), "…") {
		t.Errorf("no cut column, want long paths cut to fit")
	}
}

func TestMarkdownEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"path", "/a/b.html", "/a/b.html"},
		{"number", "15.0%", "15.0%"},
		{"interval", "12.5% [11.3%, 13.9%] (5 requests) +1", "12.5% [11.3%, 13.9%] (5 requests) +1"},
		{"snake case", "rate_500_ci95", "rate_500_ci95"},
		{"time", "2026-11-02 14:00Z", "2026-11-02 14:00Z"},
		{"html", "<script>alert(1)</script>", `\<script>alert(1)\</script>`},
		{"link", "[x](javascript:alert(1))", `[x\](javascript:alert(1))`},
		{"reference link", "[x][1] [1]: http://e", `[x\][1] [1\]: http\://e`},
		{"image", "![x](http://e/i.png)", `![x\](http\://e/i.png)`},
		{"pipe and emphasis", "| **b** _e_ `c`", `\| \*\*b\*\* \_e\_ \` + "`c\\`"},
		{"strike and math", "~~s~~ $x$", `\~\~s\~\~ \$x\$`},
		{"bare url", "https://evil.example/", `https\://evil.example/`},
		{"www", "www.evil.example", `www\.evil.example`},
		{"email", "a@evil.example", `a\@evil.example`},
		{"entity", "&lt;b&gt;", `\&lt;b\&gt;`},
		{"list start", "- item", `\- item`},
		{"plus list start", "+ item", `\+ item`},
		{"ordered list start", "2026. x", `2026\. x`},
		{"ordered list paren", "3) x", `3\) x`},
		{"heading start", "# h", `\# h`},
		{"quote start", "> q", `\> q`},
		{"line break", "a\nb", "a?b"},
		{"backslash", `a\b`, `a\\b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := md(tt.in); got != tt.want {
				t.Errorf("md(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownInert(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<script", "<img", "](javascript", "\x1b", "\u202e"} {
		if i := strings.Index(s, bad); i >= 0 && (i == 0 || s[i-1] != '\\') {
			t.Errorf("markdown holds %q unescaped", bad)
		}
	}
	// Every table row has as many cells as its header: no '|' from a
	// log splits a cell.
	var want int
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if want == 0 {
			want = n
		} else if n != want {
			t.Errorf("row has %d cell separators, header %d: %q", n, want, line)
		}
	}
}

func TestCSVFormulaInjection(t *testing.T) {
	r := fixture()
	for _, name := range CSVTables() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := CSV(&b, r, name); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&b).ReadAll()
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			for _, rec := range recs[1:] {
				if len(rec) != len(recs[0]) {
					t.Errorf("row of %d fields, header %d", len(rec), len(recs[0]))
				}
				for _, v := range rec {
					if v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) {
						continue
					}
					// Only numbers we wrote may start so: negative values.
					if _, err := strconv.ParseFloat(v, 64); err != nil {
						t.Errorf("cell %q starts with a formula character and is not a number", v)
					}
				}
			}
		})
	}
	var b bytes.Buffer
	if err := CSV(&b, r, "error_paths"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`'=HYPERLINK(`, `'+cmd|`, `'@SUM(1+1)`, `'-2+3`, "?TAB", "?[31mred?[0m?"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("error_paths.csv lacks the protected cell %q", want)
		}
	}
	b.Reset()
	if err := CSV(&b, r, "tests"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ",-0.700000,-0.790000,-0.580000,") {
		t.Errorf("negative risk difference not written as a plain number:\n%s", b.String())
	}
}

func TestCSVUnknownTable(t *testing.T) {
	err := CSV(&bytes.Buffer{}, fixture(), "nope")
	if err == nil || !strings.Contains(err.Error(), "unknown table") {
		t.Errorf("CSV(nope) = %v, want an unknown table error", err)
	}
}

func TestCSVCellValue(t *testing.T) {
	tests := []struct {
		name string
		cell csvCell
		want string
	}{
		{"plain text", str("/index.html"), "/index.html"},
		{"formula", str("=1+1"), "'=1+1"},
		{"plus", str("+1"), "'+1"},
		{"minus text", str("-1"), "'-1"},
		{"at", str("@SUM(A1)"), "'@SUM(A1)"},
		{"tab start", str("\t=1"), "?=1"},
		{"carriage return start", str("\r=1"), "?=1"},
		{"escape", str("\x1b[31m"), "?[31m"},
		{"negative number", share(-0.25), "-0.250000"},
		{"invalid utf-8", str("a\xffb"), "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cell.value(); got != tt.want {
				t.Errorf("value() = %q, want %q", got, tt.want)
			}
		})
	}
}
