package s3source

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/s3test"
)

// sampleLog returns the header lines and the records of the AWS example.
func sampleLog(t testing.TB) (header, records []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "awsdocs_33fields.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			header = append(header, line...)
		} else {
			records = append(records, line...)
		}
	}
	return header, records
}

const sampleRecords = 6

// logObject is one gzip log object of the fixture.
type logObject struct {
	key  string
	body []byte
	rows int64
}

// makeLogObjects returns n legacy-named gzip objects under prefix,
// alternating between the production and staging distributions over
// consecutive hours; object i holds the sample's records (i%5+1) times.
func makeLogObjects(t testing.TB, prefix string, n int) []logObject {
	t.Helper()
	header, records := sampleLog(t)
	objs := make([]logObject, n)
	for i := range objs {
		id := prodID
		if i%2 == 1 {
			id = stageID
		}
		hour := day0.Add(time.Duration(i/2) * time.Hour)
		reps := i%5 + 1
		var raw bytes.Buffer
		raw.Write(header)
		for range reps {
			raw.Write(records)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		if _, err := zw.Write(raw.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		objs[i] = logObject{
			key:  fmt.Sprintf("%s%s.%s.%08x.gz", prefix, id, hour.Format("2006-01-02-15"), i),
			body: gz.Bytes(),
			rows: int64(reps * sampleRecords),
		}
	}
	return objs
}

func uploadLogObjects(t testing.TB, c *s3.Client, bucket string, objs []logObject) {
	t.Helper()
	put := make([]s3test.Object, len(objs))
	for i, o := range objs {
		put[i] = s3test.Object{Key: o.key, Body: o.body}
	}
	s3test.PutObjects(t, c, bucket, put)
}

// countingSink counts the rows committed per object and remembers what it
// took, as a manifest does. Rows written to an object that is aborted are
// dropped.
type countingSink struct {
	mu      sync.Mutex
	rows    map[string]int64 // key → rows of the last commit
	commits map[string]int
	aborts  map[string]int
	taken   map[string]ingest.ObjectRef
}

func newCountingSink() *countingSink {
	return &countingSink{
		rows:    map[string]int64{},
		commits: map[string]int{},
		aborts:  map[string]int{},
		taken:   map[string]ingest.ObjectRef{},
	}
}

var (
	_ ingest.Sink     = (*countingSink)(nil)
	_ ingest.Manifest = (*countingSink)(nil)
)

func (s *countingSink) Begin(_ context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	return &countingObject{sink: s, ref: ref}, nil
}

func (s *countingSink) Close(context.Context) error { return nil }

func (s *countingSink) Has(ref ingest.ObjectRef) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.taken[ref.Key]
	return ok && t.ETag == ref.ETag && t.Size == ref.Size
}

func (s *countingSink) total() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, r := range s.rows {
		n += r
	}
	return n
}

type countingObject struct {
	sink *countingSink
	ref  ingest.ObjectRef
	rows int64
}

func (o *countingObject) Write(b arrow.RecordBatch) error {
	o.rows += b.NumRows()
	return nil
}

func (o *countingObject) Commit() error {
	o.sink.mu.Lock()
	defer o.sink.mu.Unlock()
	// A re-ingested object replaces its rows.
	o.sink.rows[o.ref.Key] = o.rows
	o.sink.commits[o.ref.Key]++
	o.sink.taken[o.ref.Key] = o.ref
	return nil
}

func (o *countingObject) Abort() {
	o.sink.mu.Lock()
	defer o.sink.mu.Unlock()
	o.sink.aborts[o.ref.Key]++
}

// e2eFixture is a bucket of log objects behind a fault-injecting proxy.
type e2eFixture struct {
	proxy  *s3test.Proxy
	direct *s3.Client
	bucket string
	objs   []logObject
	want   int64 // rows in all objects
}

func newE2EFixture(t testing.TB, n int) *e2eFixture {
	t.Helper()
	srv := s3test.Start(t)
	f := &e2eFixture{bucket: "cflens-e2e", direct: s3test.Client(srv.URL)}
	s3test.CreateBucket(t, f.direct, f.bucket)
	f.objs = makeLogObjects(t, "logs/", n)
	uploadLogObjects(t, f.direct, f.bucket, f.objs)
	for _, o := range f.objs {
		f.want += o.rows
	}
	f.proxy = s3test.NewProxy(t, srv.URL)
	return f
}

func (f *e2eFixture) source(t testing.TB, idle time.Duration) *Source {
	t.Helper()
	opts := DefaultOptions()
	opts.Distributions = map[string]string{prodID: "production", stageID: "staging"}
	opts.IdleTimeout = idle
	s, err := New(s3test.Client(f.proxy.URL), Location{Bucket: f.bucket, Prefix: "logs/"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run ingests src with the given workers through a checked allocator.
func run(t testing.TB, src ingest.Source, sink ingest.Sink, workers int) (*ingest.Summary, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts := ingest.DefaultOptions()
	opts.Workers = workers
	opts.Backoff = 10 * time.Millisecond
	opts.Allocator = mem
	return ingest.Run(context.Background(), opts, []ingest.Source{src}, sink)
}

func TestRunFaults(t *testing.T) {
	f := newE2EFixture(t, 40)
	victim := f.objs[7]
	tests := []struct {
		name  string
		fault s3test.Fault
		times int // 0: every request for the object
		// wantGets is the number of GETs for the faulted object.
		wantGets int
		// maxAborts bounds the attempts the sink saw begun and discarded:
		// a body that breaks within the first bytes fails while the
		// parser sniffs its format, before the sink sees it.
		maxAborts    int
		wantComplete bool
	}{
		{name: "slowdown burst", fault: s3test.SlowDown, times: 2, wantGets: 3, wantComplete: true},
		{name: "reset before headers", fault: s3test.ResetBeforeHeaders, times: 1, wantGets: 2, wantComplete: true},
		{name: "reset mid body", fault: s3test.ResetMidBody, times: 1, wantGets: 2, maxAborts: 1, wantComplete: true},
		// The proxy's Content-Length says half the listed size: Open fails
		// before any row is written.
		{name: "truncated body", fault: s3test.Truncate, times: 1, wantGets: 2, maxAborts: 0, wantComplete: true},
		{name: "corrupted body", fault: s3test.Corrupt, times: 1, wantGets: 2, maxAborts: 1, wantComplete: true},
		{name: "stalled body", fault: s3test.Stall, times: 1, wantGets: 2, maxAborts: 1, wantComplete: true},
		{name: "body always breaks", fault: s3test.ResetMidBody, times: 0,
			wantGets: ingest.DefaultOptions().Attempts, maxAborts: ingest.DefaultOptions().Attempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.proxy.ClearRules()
			f.proxy.ResetRequests()
			f.proxy.AddRule(s3test.Rule{Method: "GET", Key: victim.key, Fault: tt.fault, Times: tt.times})
			sink := newCountingSink()
			idle := 10 * time.Second
			if tt.fault == s3test.Stall {
				// Short only here: on a loaded machine a slow answer
				// would pass for a stall.
				idle = 300 * time.Millisecond
			}
			sum, err := run(t, f.source(t, idle), sink, 8)
			if tt.wantComplete {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if sum.Rows != f.want || sink.total() != f.want {
					t.Errorf("rows: summary %d, committed %d, want %d", sum.Rows, sink.total(), f.want)
				}
			} else {
				if !errors.Is(err, ingest.ErrIncomplete) {
					t.Fatalf("run error = %v, want ErrIncomplete", err)
				}
				if len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0].Object, victim.key) {
					t.Errorf("failed objects %+v, want only %s", sum.Failed, victim.key)
				}
				if want := f.want - victim.rows; sum.Rows != want || sink.total() != want {
					t.Errorf("rows: summary %d, committed %d, want %d (all but the failed object)", sum.Rows, sink.total(), want)
				}
				if sink.commits[victim.key] != 0 {
					t.Errorf("failed object committed %d times", sink.commits[victim.key])
				}
			}
			if sum.Complete != tt.wantComplete {
				t.Errorf("summary complete = %v, want %v", sum.Complete, tt.wantComplete)
			}
			for _, o := range f.objs {
				want := 1
				if o.key == victim.key && !tt.wantComplete {
					want = 0
				}
				if sink.commits[o.key] != want {
					t.Errorf("%s committed %d times, want %d", o.key, sink.commits[o.key], want)
				}
			}
			if got := f.proxy.Count("GET", victim.key); got != tt.wantGets {
				t.Errorf("%d GETs of the faulted object, want %d", got, tt.wantGets)
			}
			if got := sink.aborts[victim.key]; got > tt.maxAborts {
				t.Errorf("%d aborted attempts at the faulted object, want at most %d", got, tt.maxAborts)
			}
			for _, o := range f.objs {
				if o.key != victim.key && sink.aborts[o.key] != 0 {
					t.Errorf("%s aborted %d times, want 0 (no fault injected)", o.key, sink.aborts[o.key])
				}
			}
		})
	}
}

func TestRunWorkers(t *testing.T) {
	f := newE2EFixture(t, 60)
	var first map[string]int64
	var firstCounts ingest.Counts
	for _, workers := range []int{1, 32} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			sink := newCountingSink()
			sum, err := run(t, f.source(t, 5*time.Second), sink, workers)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rows != f.want {
				t.Errorf("rows = %d, want %d", sum.Rows, f.want)
			}
			if first == nil {
				first, firstCounts = sink.rows, sum.Counts
				return
			}
			if diff := cmp.Diff(first, sink.rows); diff != "" {
				t.Errorf("rows per object differ from 1 worker (-1 +%d):\n%s", workers, diff)
			}
			if diff := cmp.Diff(firstCounts, sum.Counts); diff != "" {
				t.Errorf("counts differ from 1 worker (-1 +%d):\n%s", workers, diff)
			}
		})
	}
}

// TestRunRerun checks the incremental runs: a rerun over the same objects
// fetches nothing and adds no rows, an overwritten object is read again
// and replaces its rows, and a late file for an old hour is picked up.
func TestRunRerun(t *testing.T) {
	f := newE2EFixture(t, 30)
	sink := newCountingSink()
	if _, err := run(t, f.source(t, 5*time.Second), sink, 4); err != nil {
		t.Fatal(err)
	}
	if sink.total() != f.want {
		t.Fatalf("first run committed %d rows, want %d", sink.total(), f.want)
	}

	t.Run("same objects", func(t *testing.T) {
		f.proxy.ResetRequests()
		sum, err := run(t, f.source(t, 5*time.Second), sink, 4)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != 0 || sum.Skipped != int64(len(f.objs)) {
			t.Errorf("rerun took %d rows and skipped %d objects, want 0 and %d", sum.Rows, sum.Skipped, len(f.objs))
		}
		if n := f.proxy.Count("GET", "") - listCount(f.proxy); n != 0 {
			t.Errorf("rerun fetched %d objects, want none", n)
		}
		if sink.total() != f.want {
			t.Errorf("committed rows now %d, want %d", sink.total(), f.want)
		}
	})

	t.Run("changed object and late file", func(t *testing.T) {
		changed := makeLogObjects(t, "logs/", 4)[3] // same key as f.objs[3], 4 repetitions
		changed.key = f.objs[2].key                 // f.objs[2] holds 3 repetitions
		late := makeLogObjects(t, "logs/", 5)[4]
		late.key = fmt.Sprintf("logs/%s.%s.late0001.gz", prodID, day0.Format("2006-01-02-15"))
		uploadLogObjects(t, f.direct, f.bucket, []logObject{changed, late})
		f.proxy.ResetRequests()
		sum, err := run(t, f.source(t, 5*time.Second), sink, 4)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Objects != 2 || sum.Skipped != int64(len(f.objs)-1) {
			t.Errorf("took %d objects and skipped %d, want 2 and %d", sum.Objects, sum.Skipped, len(f.objs)-1)
		}
		if sum.Rows != changed.rows+late.rows {
			t.Errorf("took %d rows, want %d", sum.Rows, changed.rows+late.rows)
		}
		want := f.want - f.objs[2].rows + changed.rows + late.rows
		if sink.total() != want {
			t.Errorf("committed rows now %d, want %d", sink.total(), want)
		}
		if n := f.proxy.Count("GET", "") - listCount(f.proxy); n != 2 {
			t.Errorf("fetched %d objects, want 2", n)
		}
	})
}

// listCount counts the list requests (GETs on the bucket) the proxy saw.
func listCount(p *s3test.Proxy) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Method == "GET" && strings.Contains(r.Query, "list-type=2") {
			n++
		}
	}
	return n
}

// TestRunSameAsFolder checks that the S3 source and the local-folder
// source give the same counts for the same files.
func TestRunSameAsFolder(t *testing.T) {
	f := newE2EFixture(t, 20)
	dir := writeFolder(t, f.objs)
	s3sum, err := run(t, f.source(t, 5*time.Second), newCountingSink(), 4)
	if err != nil {
		t.Fatal(err)
	}
	src, err := dirsource.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	dirsum, err := run(t, src, newCountingSink(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dirsum.Counts, s3sum.Counts); diff != "" {
		t.Errorf("counts differ (-folder +s3):\n%s", diff)
	}
}

// writeFolder writes the objects into a temporary folder, keys as paths.
func writeFolder(t testing.TB, objs []logObject) string {
	t.Helper()
	dir := t.TempDir()
	for _, o := range objs {
		p := filepath.Join(dir, filepath.FromSlash(o.key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, o.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunSlowDownBurst answers the first 40 GETs of a run with 503
// SlowDown: enough to exhaust the SDK's three attempts for some requests.
// Object GETs are then fetched again by the pipeline; a listing request
// is retried by the source.
func TestRunSlowDownBurst(t *testing.T) {
	f := newE2EFixture(t, 40)
	tests := []struct {
		name  string
		match func(*http.Request) bool
	}{
		{name: "object GETs", match: s3test.ObjectRequests},
		{name: "listing included"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.proxy.ClearRules()
			f.proxy.ResetRequests()
			f.proxy.AddRule(s3test.Rule{Method: "GET", Match: tt.match, Fault: s3test.SlowDown, Times: 40})
			sink := newCountingSink()
			sum, err := run(t, f.source(t, 5*time.Second), sink, 16)
			if err != nil {
				t.Fatalf("run: %v (failed %+v)", err, sum.Failed)
			}
			if sum.Rows != f.want || sink.total() != f.want {
				t.Errorf("rows: summary %d, committed %d, want %d", sum.Rows, sink.total(), f.want)
			}
			for _, o := range f.objs {
				if sink.commits[o.key] != 1 {
					t.Errorf("%s committed %d times, want 1", o.key, sink.commits[o.key])
				}
			}
			slow := 0
			for _, r := range f.proxy.Requests() {
				if r.Fault == s3test.SlowDown {
					slow++
				}
			}
			if slow != 40 {
				t.Errorf("%d SlowDown answers, want 40", slow)
			}
		})
	}
}
