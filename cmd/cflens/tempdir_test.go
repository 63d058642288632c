package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestRunTempDirRemovesStaleFolders(t *testing.T) {
	parent := t.TempDir()
	// A folder of a process that is gone (a child that has exited and been
	// waited for), one of a live process (this one's parent), and an
	// unrelated folder.
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Skip("cannot start a child process:", err)
	}
	dead := filepath.Join(parent, runTempPrefix+strconv.Itoa(child.Process.Pid)+"-123")
	live := filepath.Join(parent, runTempPrefix+strconv.Itoa(os.Getppid())+"-456")
	other := filepath.Join(parent, "something-else")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "sub", "spool"), []byte("x"), 0o600)
	}
	dir, cleanup, err := newRunTempDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the folder of a dead run is still there: %v", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("run folder: %v, mode %v", err, fi.Mode())
	}
	cleanup()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("run folder left after cleanup: %v", err)
	}
}
