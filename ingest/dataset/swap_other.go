//go:build !linux

package dataset

import "errors"

// exchangeDirs is not available here: replaces add the merged file beside
// the files it replaces, which are deleted after the commit record.
func exchangeDirs(a, b string) error { return errors.ErrUnsupported }
