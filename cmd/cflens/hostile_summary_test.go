package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// controlChars lists the control characters in s other than newline:
// escape sequences start with ESC (C0) or CSI (C1).
func controlChars(s string) []rune {
	var found []rune
	for _, r := range strings.ToValidUTF8(s, "") {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			found = append(found, r)
		}
	}
	if !utf8.ValidString(s) {
		found = append(found, utf8.RuneError)
	}
	return found
}

// TestIngestOutputInert ingests a log whose object name, rejected lines
// and header carry terminal escape sequences (clear screen, set title,
// OSC 8 hyperlink, C1 CSI), verbose logs on: nothing written to the
// terminal may hold a control character other than newline.
func TestIngestOutputInert(t *testing.T) {
	dir := t.TempDir()
	esc := "\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\\u009b31m"
	header := "#Version: 1.0\n#Fields: date time sc-status cs-uri-stem x-" + esc + "\n"
	lines := header +
		"2025-09-10\t08:00:00\t200\t/ok" + esc + "\tv\n" +
		"2025-09-10\t08:00:00\t2" + esc + "00\t/bad-status\tv\n" +
		"2025-09-10\t" + esc + "\t200\t/bad-time\tv\n" +
		"not a record " + esc + "\n"
	names := []string{"E1EXAMPLE.2025-09-10-08." + esc[:4] + "x.gz", "E1EXAMPLE.2025-09-10-08.plain.gz"}
	for _, n := range names {
		gzipLines(t, filepath.Join(dir, n), strings.Split(strings.TrimSuffix(lines, "\n"), "\n"))
	}
	// Not gzip at all, under a hostile name: an object that fails.
	if err := os.WriteFile(filepath.Join(dir, "E1EXAMPLE.2025-09-10-09."+esc[:4]+"broken.gz"), []byte("\x1f\x8b\x08"+esc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLIChild(t, nil, "ingest", dir, "-v", "--out", filepath.Join(t.TempDir(), "ds"))
	if code != 3 {
		t.Errorf("exit %d, want 3 (rejected lines and a broken object)", code)
	}
	if !strings.Contains(stderr, "rejected") || !strings.Contains(stderr, "FAILED") {
		t.Errorf("the summary does not report the rejects and the failure:\n%s", stderr)
	}
	if !strings.Contains(stderr, "[2J") {
		t.Errorf("the hostile text is not shown at all, so this test proves nothing:\n%s", stderr)
	}
	if c := controlChars(stdout + stderr); len(c) > 0 {
		t.Errorf("control characters reach the terminal: %q\nstderr:\n%q", c, stderr)
	}
}

// unsafeRunes lists what report.TerminalSafe removes and a terminal
// would act on: control characters other than newline, and the Unicode
// controls that reorder or hide text (bidi overrides, zero-width marks).
func unsafeRunes(s string) []rune {
	found := controlChars(s)
	for _, r := range s {
		if r >= 0x200b && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0xfeff {
			found = append(found, r)
		}
	}
	return found
}

// TestHostileDistributionFolder reads a v2 Hive-style folder whose
// DistributionId carries a title-setting escape sequence, next to a
// well-named one, with ingest -v and analyze -v. The hostile object fails
// by name (its ID is refused by the one rule), the good one is read, and
// no control or bidi character reaches the terminal.
func TestHostileDistributionFolder(t *testing.T) {
	dir := t.TempDir()
	hostile := "E1\x1b]0;owned\x07\u202eX"
	lines := []string{
		"#Version: 1.0",
		"#Fields: date time sc-status cs-uri-stem",
		"2025-09-10\t08:00:00\t200\t/ok",
		"2025-09-10\t08:00:01\t500\t/\u202etxt.exe",
	}
	for _, id := range []string{hostile, "E2EXAMPLE"} {
		folder := filepath.Join(dir, "DistributionId="+id, "year=2025", "month=09", "day=10", "hour=08")
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		gzipLines(t, filepath.Join(folder, "part.log.gz"), lines)
	}
	code, stdout, stderr := runCLIChild(t, nil, "ingest", dir, "-v")
	if code != 3 {
		t.Errorf("ingest exit %d, want 3 (the hostile object fails)", code)
	}
	if !strings.Contains(stderr, "FAILED") || !strings.Contains(stderr, "not a distribution ID") {
		t.Errorf("ingest does not name the refused ID:\n%s", stderr)
	}
	if !strings.Contains(stderr, "E2EXAMPLE: 1 objects, 2 rows") {
		t.Errorf("ingest did not read the well-named object:\n%s", stderr)
	}
	if c := unsafeRunes(stdout + stderr); len(c) > 0 {
		t.Errorf("ingest: unsafe characters reach the terminal: %q\nstderr:\n%q", c, stderr)
	}
	code, stdout, stderr = runCLIChild(t, nil, "head", dir, "-n", "2")
	if code != 0 && code != 3 {
		t.Errorf("head exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "txt.exe") {
		t.Errorf("head shows no row, so this test proves nothing:\n%s", stdout)
	}
	if c := unsafeRunes(stdout + stderr); len(c) > 0 {
		t.Errorf("head: unsafe characters reach the terminal: %q\nstdout:\n%q", c, stdout)
	}
}
