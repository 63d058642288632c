package dirsource

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeTree creates the files (slash-separated paths) under root.
func writeTree(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDatasetSkipped: a source never reads a cflens dataset, wherever it
// sits under the source (the --out of an earlier run inside the log
// folder), and says so once per dataset; other folders, including ones
// that look like dataset partitions without a journal, are read.
func TestDatasetSkipped(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root,
		"E1.2025-09-10-08.a.gz",
		"sub/E1.2025-09-10-09.b.gz",
		"ds/_cflens/journal/00000001.json",
		"ds/distributionid=E1/year=2025/month=09/day=10/hour=08/f.parquet",
		"sub/deeper/ds2/_cflens/journal/00000001.json",
		"sub/deeper/ds2/distributionid=E1/year=2025/month=09/day=10/hour=08/f.parquet",
		"v2/distributionid=E1/year=2025/month=09/day=10/hour=08/E1.2025-09-10-08.c.parquet",
	)
	tests := []struct {
		name     string
		spec     string
		want     []string
		datasets []string // named in the log
	}{
		{name: "folder", spec: root,
			want:     []string{"E1.2025-09-10-08.a.gz", "sub/E1.2025-09-10-09.b.gz", "v2/distributionid=E1/year=2025/month=09/day=10/hour=08/E1.2025-09-10-08.c.parquet"},
			datasets: []string{"ds", "sub/deeper/ds2"}},
		{name: "glob", spec: filepath.Join(root, "*", "distributionid=E1", "*", "*", "*", "*", "*"),
			want:     []string{"v2/distributionid=E1/year=2025/month=09/day=10/hour=08/E1.2025-09-10-08.c.parquet"},
			datasets: []string{"ds"}},
		{name: "the dataset itself", spec: filepath.Join(root, "ds"), datasets: []string{"."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, err := New(tt.spec, "", WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for ref, err := range s.List(context.Background(), time.Time{}, time.Time{}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ref.Key)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != len(tt.datasets) {
				t.Fatalf("%d messages, want one per dataset %v:\n%s", len(lines), tt.datasets, logs.String())
			}
			for i, ds := range tt.datasets {
				want := filepath.ToSlash(filepath.Join(s.root, ds))
				if !strings.Contains(lines[i], "dataset="+want) {
					t.Errorf("message %q does not name %s", lines[i], want)
				}
			}
		})
	}
}

// TestDigests: a file's ETag is a digest of its bytes, which tells apart
// two files of the same size; WithoutDigests lists the files with their
// sizes and no ETag.
func TestDigests(t *testing.T) {
	root := t.TempDir()
	for name, content := range map[string]string{"a.log": "same size one", "b.log": "same size two"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list := func(opts ...Option) map[string][2]any {
		t.Helper()
		s, err := New(root, "", opts...)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][2]any{}
		for ref, err := range s.List(context.Background(), time.Time{}, time.Time{}) {
			if err != nil {
				t.Fatal(err)
			}
			got[ref.Key] = [2]any{ref.Size, ref.ETag}
		}
		return got
	}
	with := list()
	if len(with) != 2 || with["a.log"][1] == "" || with["a.log"][1] == with["b.log"][1] || with["a.log"][0] != int64(13) {
		t.Errorf("with digests: %v; want two sizes of 13 and two different digests", with)
	}
	want := map[string][2]any{"a.log": {int64(13), ""}, "b.log": {int64(13), ""}}
	if got := list(WithoutDigests()); !cmp.Equal(got, want) {
		t.Errorf("without digests: %v, want %v", got, want)
	}
}
