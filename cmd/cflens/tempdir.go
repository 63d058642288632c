package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// runTempPrefix starts the name of a run's private temporary folder; the
// process ID follows it.
const runTempPrefix = "cflens-run-"

// newRunTempDir makes this run's private temporary folder (0700) under
// parent, and removes the folders that runs no longer alive left there:
// a run killed with SIGKILL cannot clean up after itself. Every temporary
// file of the run (spooled objects, copies of Parquet logs) goes in it,
// and cleanup removes it.
func newRunTempDir(parent string) (dir string, cleanup func(), err error) {
	removeStaleRunDirs(parent)
	dir, err = os.MkdirTemp(parent, runTempPrefix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", nil, fmt.Errorf("make temporary folder: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// removeStaleRunDirs removes the run folders in parent whose process is
// gone. A folder whose process ID was taken again by another process is
// left for a later run.
func removeStaleRunDirs(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), runTempPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(parent, e.Name()))
	}
}
