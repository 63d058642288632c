package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// chromium finds the browser for the HTML tests: $CFLENS_CHROMIUM, as
// set by the Makefile from .ci/install-chromium.sh, or chromium on the
// PATH. Without it the tests skip, except in CI where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CFLENS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found; run .ci/install-chromium.sh")
	}
	t.Skip("chromium not found; run .ci/install-chromium.sh")
	return ""
}

// runChromium runs headless Chromium on a page with the given extra
// flags, bounded to 60 s, and returns its stdout and stderr.
func runChromium(t *testing.T, bin, page string, flags ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}, flags...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(flags, " "), err, tail(errOut.String(), 2000))
	}
	return out.String(), errOut.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// consoleProblems are the lines of Chromium's log that tell of a script
// error or a Content-Security-Policy violation.
func consoleProblems(log string) []string {
	var bad []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, "Refused to") ||
			strings.Contains(line, "Content Security Policy") || strings.Contains(line, "CONSOLE") {
			bad = append(bad, line)
		}
	}
	return bad
}

func writePage(t *testing.T, render func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := render(&b); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return page
}

// domFacts is what the rendered DOM holds.
type domFacts struct {
	elements map[string]int // by tag
	ids      map[string]*html.Node
	text     strings.Builder
	problems []string
}

func inspect(t *testing.T, dom string) *domFacts {
	t.Helper()
	root, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatalf("parse dumped DOM: %v", err)
	}
	f := &domFacts{elements: map[string]int{}, ids: map[string]*html.Node{}}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			f.elements[n.Data]++
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				val := strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case key == "id":
					f.ids[a.Val] = n
				case strings.HasPrefix(key, "on"):
					f.problems = append(f.problems, "event handler attribute "+a.Key+" on <"+n.Data+">")
				case (key == "href" || key == "src" || key == "xlink:href" || key == "action") &&
					(strings.HasPrefix(val, "javascript:") || strings.HasPrefix(val, "data:text")):
					f.problems = append(f.problems, "script URL in "+a.Key+" on <"+n.Data+">")
				}
			}
		case html.TextNode:
			f.text.WriteString(n.Data)
			f.text.WriteByte('\n')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return f
}

// count counts the elements with a tag under n.
func count(n *html.Node, tag string) int {
	k := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			k++
		}
		k += count(c, tag)
	}
	return k
}

func TestHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	page := writePage(t, func(b *bytes.Buffer) error { return HTML(b, fixture()) })
	dom, log := runChromium(t, bin, page, "--dump-dom")
	f := inspect(t, dom)

	for _, p := range f.problems {
		t.Errorf("rendered DOM: %s", p)
	}
	for _, tag := range []string{"script", "img", "iframe", "object", "embed", "link", "base", "form"} {
		if n := f.elements[tag]; n > 0 {
			t.Errorf("rendered DOM has %d <%s> elements, want none", n, tag)
		}
	}
	charts := []struct {
		id    string
		shape string
		min   int
	}{
		{"chart-time", "circle", 50},
		{"chart-time", "polyline", 2},
		{"chart-time", "rect", 3}, // window bands
		{"chart-hour-rate", "rect", 40},
		{"chart-hour-share", "rect", 24},
		{"chart-result-types", "rect", 3},
		{"chart-detailed-types", "rect", 4},
	}
	for _, c := range charts {
		n := f.ids[c.id]
		if n == nil || n.Data != "svg" {
			t.Errorf("chart %s: no <svg> in the rendered DOM", c.id)
			continue
		}
		if got := count(n, c.shape); got < c.min {
			t.Errorf("chart %s: %d <%s>, want at least %d", c.id, got, c.shape, c.min)
		}
	}
	text := f.text.String()
	for _, h := range hostile[:6] {
		if !strings.Contains(text, h) {
			t.Errorf("hostile string %q is not shown as text", h)
		}
	}
	if bad := consoleProblems(log); len(bad) > 0 {
		t.Errorf("console errors or CSP violations:\n%s", strings.Join(bad, "\n"))
	}
}

// TestHTMLScreenshot renders the page in light and dark mode and checks
// that the screenshots are real pictures with the right background. Set
// REPORT_SCREENSHOTS to a folder to keep them.
func TestHTMLScreenshot(t *testing.T) {
	bin := chromium(t)
	page := writePage(t, func(b *bytes.Buffer) error { return HTML(b, fixture()) })
	tests := []struct {
		name  string
		flags []string
		dark  bool
	}{
		{"light", nil, false},
		{"dark", []string{"--force-dark-mode", "--blink-settings=preferredColorScheme=0"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shot := filepath.Join(t.TempDir(), "report-"+tt.name+".png")
			_, log := runChromium(t, bin, page, append([]string{"--screenshot=" + shot, "--window-size=1280,2000"}, tt.flags...)...)
			data, err := os.ReadFile(shot)
			if err != nil {
				t.Fatalf("no screenshot: %v\n%s", err, tail(log, 2000))
			}
			if dir := os.Getenv("REPORT_SCREENSHOTS"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(shot)), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("decode screenshot: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2000 {
				t.Errorf("screenshot is %v, want 1280×2000", b)
			}
			if n := colours(img); n < 8 {
				t.Errorf("screenshot has %d colours, want a page with charts", n)
			}
			// The page background, at the left edge below the top.
			r, g, b, _ := img.At(4, 400).RGBA()
			luma := (299*r + 587*g + 114*b) / 1000 >> 8
			if tt.dark && luma > 80 || !tt.dark && luma < 200 {
				t.Errorf("background luma %d, want a %s page", luma, tt.name)
			}
			if bad := consoleProblems(log); len(bad) > 0 {
				t.Errorf("console errors or CSP violations:\n%s", strings.Join(bad, "\n"))
			}
		})
	}
}

// colours counts the distinct colours of an image, up to 1000.
func colours(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func TestIndexInBrowser(t *testing.T) {
	bin := chromium(t)
	r := fixture()
	entries := []Entry{
		{From: r.Range.From, To: r.Range.To, Href: "report-20261102T0000Z.html", Result: r},
		{From: r.Range.To, To: r.Range.To.Add(24 * time.Hour), Err: hostile[2]},
	}
	page := writePage(t, func(b *bytes.Buffer) error { return Index(b, "Reports "+hostile[0], entries) })
	dom, log := runChromium(t, bin, page, "--dump-dom")
	f := inspect(t, dom)
	for _, p := range f.problems {
		t.Errorf("rendered DOM: %s", p)
	}
	if n := f.elements["script"] + f.elements["img"]; n > 0 {
		t.Errorf("rendered index has %d script or img elements", n)
	}
	if n := f.elements["a"]; n != 1 {
		t.Errorf("rendered index has %d links, want 1", n)
	}
	for _, h := range []string{hostile[0], hostile[2]} {
		if !strings.Contains(f.text.String(), h) {
			t.Errorf("hostile string %q is not shown as text", h)
		}
	}
	if bad := consoleProblems(log); len(bad) > 0 {
		t.Errorf("console errors or CSP violations:\n%s", strings.Join(bad, "\n"))
	}
}

// TestBrowserChecksCatch shows that the checks above can fail: a page
// with an inline script and an event handler under the same policy is
// flagged by the DOM inspection and by the console log.
func TestBrowserChecksCatch(t *testing.T) {
	bin := chromium(t)
	bad := `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="` + CSP + `"></head>` +
		`<body><img src="x.png" onerror="alert(1)"><script>document.title = "ran"</script></body></html>`
	page := writePage(t, func(b *bytes.Buffer) error { _, err := b.WriteString(bad); return err })
	dom, log := runChromium(t, bin, page, "--dump-dom")
	f := inspect(t, dom)
	if f.elements["script"] == 0 || len(f.problems) == 0 {
		t.Errorf("inspection missed the script (%d) or the handler (%v)", f.elements["script"], f.problems)
	}
	if !strings.Contains(strings.Join(consoleProblems(log), "\n"), "Content Security Policy") {
		t.Errorf("no CSP violation in the console log:\n%s", tail(log, 2000))
	}
}
