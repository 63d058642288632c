package ingest_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/logparse"
)

// genObjects writes a short generated scenario in one format into objs,
// under prefix.
func genObjects(t *testing.T, objs map[string][]byte, format loggen.Format, prefix string, o loggen.V2Options) {
	t.Helper()
	sc := loggen.DefaultScenario(0.1)
	sc.Hours = 3
	sc.Windows = sc.Windows[3:4]
	sc.Windows[0].Start = sc.Start
	sc.Peaks = nil
	var mu sync.Mutex
	create := func(name string) (io.WriteCloser, error) {
		return &memObject{name: name, put: func(name string, b []byte) {
			mu.Lock()
			objs[name] = b
			mu.Unlock()
		}}, nil
	}
	if _, err := loggen.Generate(context.Background(), sc, loggen.Output{Create: create, Format: format, Prefix: prefix, V2: o}); err != nil {
		t.Fatal(err)
	}
}

type memObject struct {
	bytes.Buffer
	name string
	put  func(string, []byte)
}

func (m *memObject) Close() error {
	m.put(m.name, m.Bytes())
	return nil
}

// TestRunMixedFormats reads the same logs written as legacy files and as
// v2 JSON, W3C and Parquet objects, alone and all in one run, and checks
// that every format gives the same rows per distribution and status.
func TestRunMixedFormats(t *testing.T) {
	formats := []struct {
		name   string
		format loggen.Format
		opts   loggen.V2Options
	}{
		{"legacy", loggen.Legacy, loggen.V2Options{}},
		{"json", loggen.V2JSON, loggen.V2Options{}},
		{"w3c", loggen.V2W3C, loggen.V2Options{Fields: []string{"x-edge-result-type", "sc-status", "timestamp(ms)", "cs-uri-stem"}, Delimiter: ' ', Templated: true}},
		{"parquet", loggen.V2Parquet, loggen.V2Options{}},
	}
	type result struct {
		rows   int64
		status map[int32]int64
		dists  map[string]int64
	}
	run := func(t *testing.T, objs map[string][]byte, format logparse.Format) result {
		t.Helper()
		sink := newCountingSink()
		opts := ingest.DefaultOptions()
		opts.Workers = 3
		opts.Format = format
		sum, err := ingest.Run(context.Background(), opts, []ingest.Source{&memSource{objects: objs}}, sink)
		if err != nil {
			t.Fatalf("run: %v (%+v)", err, sum)
		}
		if sum.RejectedLines != 0 || len(sum.UnknownFields) != 0 {
			t.Fatalf("rejected %d, unknown %v", sum.RejectedLines, sum.UnknownFields)
		}
		r := result{rows: sum.Rows, status: sink.status, dists: map[string]int64{}}
		for id, c := range sum.Distributions {
			r.dists[id] = c.Rows
		}
		return r
	}
	all := map[string][]byte{}
	var want result
	for i, f := range formats {
		objs := map[string][]byte{}
		genObjects(t, objs, f.format, f.name+"/", f.opts)
		for k, v := range objs {
			all[k] = v
		}
		got := run(t, objs, logparse.FormatAuto)
		if i == 0 {
			want = got
			if want.rows == 0 || len(want.dists) != 2 || want.dists[""] != 0 {
				t.Fatalf("legacy run: %+v", want)
			}
			continue
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("%s (-legacy +%s):\n%s", f.name, f.name, diff)
		}
		if f.format == loggen.V2JSON {
			forced := run(t, objs, logparse.FormatJSON)
			if diff := cmp.Diff(want, forced, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("json forced (-legacy +json):\n%s", diff)
			}
		}
	}
	mixed := run(t, all, logparse.FormatAuto)
	n := int64(len(formats))
	if mixed.rows != n*want.rows {
		t.Errorf("mixed run: %d rows, want %d", mixed.rows, n*want.rows)
	}
	for id, rows := range want.dists {
		if mixed.dists[id] != n*rows {
			t.Errorf("mixed run: %s has %d rows, want %d", id, mixed.dists[id], n*rows)
		}
	}
}
