package dirsource

import (
	"path/filepath"
	"testing"
)

// FuzzPath: a key the folder source accepts maps to a file inside its
// root, whatever the key holds (object keys come from listings, which a
// caller may also craft).
func FuzzPath(f *testing.F) {
	for _, s := range []string{
		"E1.2025-09-10-08.abc.gz", "a/b.gz", "../x", "a/../../x", "/etc/passwd", `a\..\x`, "", ".", "a/./b", "a//b",
		"DistributionId=../year=2025/x.gz",
	} {
		f.Add(s)
	}
	root := filepath.Join(f.TempDir(), "root")
	s := &Source{root: root}
	f.Fuzz(func(t *testing.T, key string) {
		p, err := s.path(key)
		if err != nil {
			return
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("key %q maps to %q, outside the root %q", key, p, root)
		}
	})
}
