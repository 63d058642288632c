package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/gzip"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

const header = "#Version: 1.0\n#Fields: date time sc-status cs-uri-stem\n"

// memSource serves objects from memory. failReads[key] makes the first
// reads of that object break after half of its bytes.
type memSource struct {
	mu        sync.Mutex
	objects   map[string][]byte
	failReads map[string]int
	opens     map[string]int
}

func (s *memSource) String() string { return "mem://" }

func (s *memSource) List(ctx context.Context, from, to time.Time) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		keys := make([]string, 0, len(s.objects))
		for k := range s.objects {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			info, _ := ingest.ParseKey(k)
			if !yield(ingest.ObjectRef{Key: k, Size: int64(len(s.objects[k])), ETag: "e", DistributionID: info.DistributionID, Hour: info.Hour}, nil) {
				return
			}
		}
	}
}

var errReset = errors.New("connection reset by peer")

func (s *memSource) Open(ctx context.Context, ref ingest.ObjectRef) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opens == nil {
		s.opens = map[string]int{}
	}
	s.opens[ref.Key]++
	b := s.objects[ref.Key]
	if s.failReads[ref.Key] > 0 {
		s.failReads[ref.Key]--
		return io.NopCloser(io.MultiReader(bytes.NewReader(b[:len(b)/2]), errReader{errReset})), nil
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// countingSink counts committed rows per status and object, and checks
// that aborted rows never show.
type countingSink struct {
	mu        sync.Mutex
	committed map[string]int64 // object → rows
	status    map[int32]int64
	aborted   int
}

func newCountingSink() *countingSink {
	return &countingSink{committed: map[string]int64{}, status: map[int32]int64{}}
}

func (s *countingSink) Begin(_ context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	return &countingObject{s: s, key: ref.Key, status: map[int32]int64{}}, nil
}
func (s *countingSink) Close(context.Context) error { return nil }

type countingObject struct {
	s      *countingSink
	key    string
	rows   int64
	status map[int32]int64
}

func (o *countingObject) Write(b arrow.RecordBatch) error {
	col := b.Column(schema.ScStatus).(*array.Int32)
	for i := 0; i < col.Len(); i++ {
		o.status[col.Value(i)]++
	}
	o.rows += b.NumRows()
	return nil
}

func (o *countingObject) Commit() error {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	if _, dup := o.s.committed[o.key]; dup {
		return fmt.Errorf("object %s committed twice", o.key)
	}
	o.s.committed[o.key] = o.rows
	for k, v := range o.status {
		o.s.status[k] += v
	}
	return nil
}

func (o *countingObject) Abort() {
	o.s.mu.Lock()
	o.s.aborted++
	o.s.mu.Unlock()
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// objects builds n objects of `rows` rows each (status 200, and 500 on
// every tenth row).
func objects(t *testing.T, n, rows int) map[string][]byte {
	m := map[string][]byte{}
	for i := 0; i < n; i++ {
		var sb strings.Builder
		sb.WriteString(header)
		for j := 0; j < rows; j++ {
			st := 200
			if j%10 == 0 {
				st = 500
			}
			fmt.Fprintf(&sb, "2025-09-10\t08:%02d:%02d\t%d\t/p%d\n", j%60, i%60, st, j%7)
		}
		m[fmt.Sprintf("E1EXAMPLE.2025-09-10-08.%08x.gz", i)] = gz(t, sb.String())
	}
	return m
}

func TestRunRetriesBrokenBodiesWithoutDoubleCounting(t *testing.T) {
	src := &memSource{objects: objects(t, 20, 5000), failReads: map[string]int{
		"E1EXAMPLE.2025-09-10-08.00000003.gz": 2, // succeeds on the third read
		"E1EXAMPLE.2025-09-10-08.00000007.gz": 9, // never succeeds
	}}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sink := newCountingSink()
	opts := ingest.DefaultOptions()
	opts.Workers = 4
	opts.Backoff = time.Millisecond
	opts.Allocator = mem
	opts.BatchRows = 1000
	sum, err := ingest.Run(context.Background(), opts, []ingest.Source{src}, sink)
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	if len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0].Object, "00000007") || sum.Failed[0].Attempts != 4 {
		t.Fatalf("failed = %+v, want object 7 after 4 attempts", sum.Failed)
	}
	if !strings.Contains(sum.Failed[0].Error, "connection reset") {
		t.Errorf("failure error %q does not say why", sum.Failed[0].Error)
	}
	if !strings.Contains(err.Error(), "1 object could not be read") {
		t.Errorf("err = %v, want it to count 1 object not read", err)
	}
	if sum.Rows != 19*5000 || sink.status[200]+sink.status[500] != 19*5000 {
		t.Errorf("rows: summary %d, sink %d; want %d", sum.Rows, sink.status[200]+sink.status[500], 19*5000)
	}
	if sink.status[500] != 19*500 {
		t.Errorf("500s %d, want %d", sink.status[500], 19*500)
	}
	if sum.Retries != 2 {
		t.Errorf("retries %d, want 2 (object 3)", sum.Retries)
	}
	if !sum.Balanced() || sum.Complete {
		t.Errorf("summary %+v", sum.Counts)
	}
	if src.opens["E1EXAMPLE.2025-09-10-08.00000003.gz"] != 3 {
		t.Errorf("object 3 opened %d times, want 3", src.opens["E1EXAMPLE.2025-09-10-08.00000003.gz"])
	}
}

func TestRunSameResultWithOneAndManyWorkers(t *testing.T) {
	objs := objects(t, 40, 700)
	var first *ingest.Summary
	for _, workers := range []int{1, 32} {
		src := &memSource{objects: objs}
		opts := ingest.DefaultOptions()
		opts.Workers = workers
		sum, err := ingest.Run(context.Background(), opts, []ingest.Source{src}, newCountingSink())
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = sum
			continue
		}
		if fmt.Sprint(first.Counts) != fmt.Sprint(sum.Counts) || fmt.Sprint(*first.Distributions["E1EXAMPLE"]) != fmt.Sprint(*sum.Distributions["E1EXAMPLE"]) {
			t.Errorf("1 worker: %+v; %d workers: %+v", first.Counts, workers, sum.Counts)
		}
	}
}

func TestRunRejectRateMakesRunIncomplete(t *testing.T) {
	text := header + "2025-09-10\t08:00:00\t200\t/\n" + "garbage line\n"
	src := &memSource{objects: map[string][]byte{"E1EXAMPLE.2025-09-10-08.a.gz": gz(t, text)}}
	sum, err := ingest.Run(context.Background(), ingest.DefaultOptions(), []ingest.Source{src}, newCountingSink())
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("err = %v", err)
	}
	rr := sum.RejectedByReason["field_count"]
	if rr == nil || rr.Count != 1 || rr.Samples[0].Line != 4 || !strings.HasSuffix(rr.Samples[0].Object, "E1EXAMPLE.2025-09-10-08.a.gz") {
		t.Fatalf("rejects %+v", sum.RejectedByReason)
	}
	opts := ingest.DefaultOptions()
	opts.MaxRejectRate = 0.5
	if _, err := ingest.Run(context.Background(), opts, []ingest.Source{src}, newCountingSink()); err != nil {
		t.Errorf("with a 50%% limit: %v", err)
	}
}

// skipSink is a manifest: it has the objects of seen, and those it
// committed in the run.
type skipSink struct {
	*countingSink
	seen map[string]bool
}

func (s skipSink) Has(ref ingest.ObjectRef) bool {
	s.mu.Lock()
	_, committed := s.committed[ref.Key]
	s.mu.Unlock()
	return s.seen[ref.Key+ref.ETag] || committed
}

func TestRunSkipsObjectsTheManifestHas(t *testing.T) {
	src := &memSource{objects: objects(t, 5, 10)}
	sink := skipSink{newCountingSink(), map[string]bool{"E1EXAMPLE.2025-09-10-08.00000001.gze": true}}
	sum, err := ingest.Run(context.Background(), ingest.DefaultOptions(), []ingest.Source{src}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 1 || sum.Objects != 4 || src.opens["E1EXAMPLE.2025-09-10-08.00000001.gz"] != 0 {
		t.Errorf("skipped %d objects %d opens %v", sum.Skipped, sum.Objects, src.opens)
	}
}

func TestRunInterrupted(t *testing.T) {
	src := &memSource{objects: objects(t, 50, 2000)}
	ctx, cancel := context.WithCancel(context.Background())
	sink := newCountingSink()
	opts := ingest.DefaultOptions()
	opts.Workers = 2
	opts.Progress = func(p ingest.Progress) {
		if p.Done >= 3 {
			cancel()
		}
	}
	sum, err := ingest.Run(ctx, opts, []ingest.Source{src}, sink)
	if !errors.Is(err, ingest.ErrIncomplete) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v", err)
	}
	var rows int64
	for _, n := range sink.committed {
		rows += n
	}
	// What the summary reports is exactly what the sink committed.
	if sum.Rows != rows || sum.Objects != int64(len(sink.committed)) || len(sum.Failed) != 0 {
		t.Errorf("summary rows %d objects %d failed %d; sink rows %d objects %d", sum.Rows, sum.Objects, len(sum.Failed), rows, len(sink.committed))
	}
	if sum.Objects >= 50 {
		t.Errorf("all objects read despite the interruption")
	}
}

// brokenListing yields an error between two objects, as a folder source
// does for a key it refuses.
type brokenListing struct{ *memSource }

func (s brokenListing) List(ctx context.Context, from, to time.Time) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		i := 0
		for ref, err := range s.memSource.List(ctx, from, to) {
			if i == 1 && !yield(ingest.ObjectRef{}, errors.New(`key "a\b": path outside the source folder`)) {
				return
			}
			i++
			if !yield(ref, err) {
				return
			}
		}
	}
}

func TestRunGoesOnAfterAListingError(t *testing.T) {
	src := brokenListing{&memSource{objects: objects(t, 3, 10)}}
	sink := newCountingSink()
	sum, err := ingest.Run(context.Background(), ingest.DefaultOptions(), []ingest.Source{src}, sink)
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	if sum.Objects != 3 || len(sink.committed) != 3 {
		t.Errorf("%d objects read (%d committed), want all 3", sum.Objects, len(sink.committed))
	}
	if len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0].Error, `a\b`) || !sum.Failed[0].Listing() {
		t.Errorf("failed = %+v, want the refused key, as a listing error", sum.Failed)
	}
	// A listing error is neither an object nor an attempt at one.
	if !strings.Contains(err.Error(), "1 listing error") || strings.Contains(err.Error(), "could not be read") {
		t.Errorf("err = %v, want it to count 1 listing error and no object", err)
	}
	var text strings.Builder
	sum.WriteText(&text, time.Second, func(s string) string { return s })
	if !strings.Contains(text.String(), "FAILED "+src.String()+": list: ") || strings.Contains(text.String(), "attempts") {
		t.Errorf("summary text:\n%s\nwant the listing error without attempts", text.String())
	}
}

// admittingSink admits one object at a time and checks that every object
// is admitted before it is begun, and released once after its last try.
type admittingSink struct {
	*countingSink
	mu       sync.Mutex
	slot     chan struct{}
	admitted map[string]int // key → admissions not released
	admits   int
	errs     []string
}

func (s *admittingSink) Admit(ctx context.Context, ref ingest.ObjectRef) (func(), error) {
	select {
	case s.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	s.admitted[ref.Key]++
	s.admits++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.admitted[ref.Key]--
		if s.admitted[ref.Key] < 0 {
			s.errs = append(s.errs, ref.Key+" released twice")
		}
		s.mu.Unlock()
		<-s.slot
	}, nil
}

func (s *admittingSink) Begin(ctx context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	s.mu.Lock()
	if s.admitted[ref.Key] != 1 {
		s.errs = append(s.errs, fmt.Sprintf("%s begun with %d admissions", ref.Key, s.admitted[ref.Key]))
	}
	s.mu.Unlock()
	return s.countingSink.Begin(ctx, ref)
}

func TestRunAdmitsEachObjectOnce(t *testing.T) {
	src := &memSource{objects: objects(t, 12, 300), failReads: map[string]int{
		"E1EXAMPLE.2025-09-10-08.00000003.gz": 1, // succeeds on the second read
		"E1EXAMPLE.2025-09-10-08.00000007.gz": 9, // never succeeds
	}}
	sink := &admittingSink{countingSink: newCountingSink(), slot: make(chan struct{}, 1), admitted: map[string]int{}}
	opts := ingest.DefaultOptions()
	opts.Workers = 4
	opts.Backoff = time.Millisecond
	sum, err := ingest.Run(context.Background(), opts, []ingest.Source{src}, sink)
	if !errors.Is(err, ingest.ErrIncomplete) || len(sum.Failed) != 1 {
		t.Fatalf("err = %v, failed %+v; want object 7 failed", err, sum.Failed)
	}
	if sink.admits != 12 {
		t.Errorf("%d admissions, want one per object (12)", sink.admits)
	}
	for k, n := range sink.admitted {
		if n != 0 {
			t.Errorf("%s: %d admissions not released", k, n)
		}
	}
	if len(sink.errs) > 0 {
		t.Error(sink.errs)
	}
	if sum.Rows != 11*300 {
		t.Errorf("%d rows, want %d", sum.Rows, 11*300)
	}
}

// localSource is a memSource that says its objects are local files.
type localSource struct{ *memSource }

func (localSource) Local() bool { return true }

func TestDefaultWorkers(t *testing.T) {
	cores := runtime.GOMAXPROCS(0)
	remote, local := &memSource{}, localSource{&memSource{}}
	for _, tc := range []struct {
		name    string
		sources []ingest.Source
		want    int
	}{
		{"local files", []ingest.Source{local, local}, cores},
		{"a remote source among them", []ingest.Source{local, remote}, max(4, 4*cores)},
		{"remote", []ingest.Source{remote}, max(4, 4*cores)},
		{"none", nil, max(4, 4*cores)},
	} {
		if got := ingest.DefaultWorkers(tc.sources); got != tc.want {
			t.Errorf("%s: %d workers, want %d", tc.name, got, tc.want)
		}
	}
}
