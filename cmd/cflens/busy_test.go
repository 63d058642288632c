package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cflens/cflens/ingest/dataset"
)

// TestIngestBusyDataset: while another run holds a dataset (here this
// test process), cflens ingest into it stops at once with exit status 4
// and names the holder; once the holder is done, the same command runs.
func TestIngestBusyDataset(t *testing.T) {
	ctx := context.Background()
	logs := writeScenario(t, 1, 1)
	ds := filepath.Join(t.TempDir(), "ds")
	st, err := dataset.NewDirStore(ds)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := dataset.NewWriter(ctx, st, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLIChild(t, nil, "ingest", logs, "--out", ds)
	if code != exitBusy {
		t.Errorf("ingest into a held dataset: exit %d, want %d\n%s", code, exitBusy, stderr)
	}
	if !strings.Contains(stderr, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(stderr, "another run") {
		t.Errorf("busy message does not name the holder (pid %d):\n%s", os.Getpid(), stderr)
	}
	if err := holder.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLIChild(t, nil, "ingest", logs, "--out", ds); code != exitOK {
		t.Errorf("ingest after the holder closed: exit %d\n%s", code, stderr)
	}
}
