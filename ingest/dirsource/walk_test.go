package dirsource

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestWalkFollowsLinks: a root that is a link to a folder, a linked
// folder and a linked file inside it are read; a folder or file reached
// twice (a second link, a loop back to the root) is read once.
func TestWalkFollowsLinks(t *testing.T) {
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	other := filepath.Join(tmp, "other")
	for _, d := range []string{real, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(real, "E2QWRUHEXAMPLE.2025-09-10-08.a.gz"))
	write(filepath.Join(other, "E3STGX7EXAMPLE.2025-09-10-08.b.gz"))
	write(filepath.Join(other, "E3STGX7EXAMPLE.2025-09-10-10.d.gz"))
	link := func(target, name string) {
		if err := os.Symlink(target, name); err != nil {
			t.Skip("no symbolic links here:", err)
		}
	}
	link(other, filepath.Join(real, "staging"))
	link(other, filepath.Join(real, "staging-again"))
	link(real, filepath.Join(real, "loop"))
	link(filepath.Join(other, "E3STGX7EXAMPLE.2025-09-10-08.b.gz"), filepath.Join(real, "E3STGX7EXAMPLE.2025-09-10-09.c.gz"))
	root := filepath.Join(tmp, "logs")
	link(real, root)

	s, err := New(root, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for ref, err := range s.List(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ref.Key)
	}
	// c.gz is a link to the file of staging/ (listed first by name): the
	// file is listed once.
	want := []string{"E2QWRUHEXAMPLE.2025-09-10-08.a.gz", "E3STGX7EXAMPLE.2025-09-10-09.c.gz", "staging/E3STGX7EXAMPLE.2025-09-10-10.d.gz"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	// A broken link is an error, not a silent gap.
	link(filepath.Join(tmp, "gone"), filepath.Join(real, "broken"))
	s, err = New(root, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range s.List(context.Background(), time.Time{}, time.Time{}) {
		if err == nil {
			t.Fatal("broken link listed without an error")
		}
		break
	}
}
