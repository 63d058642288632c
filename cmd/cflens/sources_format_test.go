package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/loggen"
)

// writeFormats writes one short scenario as v2 JSON and v2 Parquet objects
// under dir/json and dir/parquet.
func writeFormats(t *testing.T, dir string) {
	t.Helper()
	sc := loggen.DefaultScenario(0.05)
	sc.Hours = 2
	sc.Windows = sc.Windows[3:4]
	sc.Windows[0].Start = sc.Start
	sc.Peaks = nil
	for _, f := range []loggen.Format{loggen.V2JSON, loggen.V2Parquet} {
		create := loggen.DirCreate(filepath.Join(dir, strings.TrimPrefix(f.String(), "v2-")))
		out := loggen.Output{Create: func(name string) (io.WriteCloser, error) {
			w, err := create(name)
			return &closeOnce{WriteCloser: w}, err
		}, Format: f}
		if _, err := loggen.Generate(context.Background(), sc, out); err != nil {
			t.Fatal(err)
		}
	}
}

// closeOnce lets a file be closed twice: the Parquet writer closes its
// sink, and so does the generator.
type closeOnce struct {
	io.WriteCloser
	closed bool
}

func (c *closeOnce) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.WriteCloser.Close()
}

func TestIngestLogFormatFlag(t *testing.T) {
	dir := t.TempDir()
	writeFormats(t, dir)
	// The same records in each format: auto reads twice the rows of one.
	tests := []struct {
		name    string
		args    []string
		usage   bool   // a usage error
		incompl bool   // ErrIncomplete
		want    string // in stderr
	}{
		{name: "auto reads both", args: []string{dir}, want: "164 lines: 164 rows, 0 header lines, 0 rejected"},
		{name: "forced json", args: []string{"--format", "json", filepath.Join(dir, "json")}, want: "82 lines: 82 rows, 0 header lines, 0 rejected"},
		{name: "forced parquet", args: []string{"--format", "parquet", filepath.Join(dir, "parquet")}, want: "82 lines: 82 rows, 0 header lines, 0 rejected"},
		{name: "parquet forced on json fails the objects", args: []string{"--format", "parquet", filepath.Join(dir, "json")}, incompl: true, want: "INCOMPLETE"},
		{name: "unknown format", args: []string{"--format", "csv", dir}, usage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			root := newRootCmd()
			root.SetArgs(append([]string{"ingest"}, tt.args...))
			root.SetOut(&out)
			root.SetErr(&errw)
			err := root.ExecuteContext(context.Background())
			var uerr *usage.Error
			switch {
			case tt.usage:
				if !errors.As(err, &uerr) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			case tt.incompl:
				if !errors.Is(err, ingest.ErrIncomplete) {
					t.Fatalf("err = %v, want incomplete", err)
				}
			case err != nil:
				t.Fatalf("err = %v\n%s", err, errw.String())
			}
			if !strings.Contains(errw.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errw.String())
			}
		})
	}
}
