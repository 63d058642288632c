//go:build !amd64

package logparse

// splitLine appends to pos the offset of each delim byte in line, and
// tells whether line is valid UTF-8 without NUL bytes.
func splitLine(line []byte, delim byte, pos []int) ([]int, bool) {
	return splitLineSWAR(line, delim, pos)
}
