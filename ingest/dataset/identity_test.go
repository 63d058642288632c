package dataset_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/schema"
)

// TestRewrittenFileSameSizeAndTime: a local log file rewritten with other
// content of the same size, its modification time restored (as cp -p,
// rsync -a and tar do), is read again on the next run and its rows
// replace the old ones: the dataset holds the new content once.
func TestRewrittenFileSameSizeAndTime(t *testing.T) {
	ctx := context.Background()
	logs, root := t.TempDir(), t.TempDir()
	name := filepath.Join(logs, "E2PROD."+dataset.TestHour0.Format("2006-01-02-15")+".0001.log")
	old := dataset.GenLog(dataset.TestHour0, time.Hour, 2000, 1)
	// The same bytes with every status 200 turned into 299: same size.
	changed := bytes.ReplaceAll(old, []byte("\t200\t"), []byte("\t299\t"))
	if len(changed) != len(old) || bytes.Equal(changed, old) {
		t.Fatal("the rewrite must keep the size and change the content")
	}
	mtime := time.Date(2025, 9, 10, 9, 0, 0, 0, time.UTC)

	run := func(content []byte) *ingest.Summary {
		t.Helper()
		if err := os.WriteFile(name, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		st, err := dataset.NewDirStore(root)
		if err != nil {
			t.Fatal(err)
		}
		w, err := dataset.NewWriter(ctx, st, dataset.Options{})
		if err != nil {
			t.Fatal(err)
		}
		src, err := dirsource.New(logs, schema.RoleProduction)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := ingest.Run(ctx, ingest.Options{}, []ingest.Source{src}, w)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	count := func(where string) (n int64) {
		t.Helper()
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", relation(root), where)
		if err := openDuckDB(t).QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		return n
	}

	run(old)
	before200 := count("sc_status = 200")
	if before200 == 0 || count("sc_status = 299") != 0 {
		t.Fatalf("first run: %d rows of status 200, want some and none of 299", before200)
	}
	if sum := run(old); sum.Skipped != 1 {
		t.Errorf("unchanged file: %d objects skipped, want 1", sum.Skipped)
	}
	if sum := run(changed); sum.Skipped != 0 || sum.Objects != 1 {
		t.Errorf("rewritten file: %d objects read, %d skipped; want it read again", sum.Objects, sum.Skipped)
	}
	if got := count("sc_status = 299"); got != before200 {
		t.Errorf("after the rewrite: %d rows of status 299, want %d", got, before200)
	}
	if got := count("sc_status = 200"); got != 0 {
		t.Errorf("after the rewrite: %d rows of status 200 left from the old content", got)
	}
	if got, want := count("true"), int64(2000); got != want {
		t.Errorf("after the rewrite: %d rows, want %d", got, want)
	}
}
