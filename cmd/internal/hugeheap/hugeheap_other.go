//go:build !linux

package hugeheap

// Advise does nothing where there are no transparent huge pages to ask
// for.
func Advise(n int) (int, error) { return 0, nil }
