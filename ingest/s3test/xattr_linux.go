package s3test

import (
	"os"
	"path/filepath"
	"syscall"
)

// userXattrs reports whether dir's filesystem takes user extended
// attributes, where versitygw keeps object metadata.
func userXattrs(dir string) bool {
	f := filepath.Join(dir, ".xattr-probe")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		return false
	}
	defer os.Remove(f)
	return syscall.Setxattr(f, "user.cflens", []byte("1"), 0) == nil
}
