//go:build !linux

package s3test

// userXattrs assumes that filesystems other than Linux ones take user
// extended attributes.
func userXattrs(string) bool { return true }
