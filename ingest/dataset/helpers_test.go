package dataset

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/logparse"
)

const fields33 = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n"

// genLog writes n log lines of one distribution with request times spread
// over [hour, hour+span), in the legacy 33-field format. Statuses, result
// types and paths vary with the seed.
func genLog(hour time.Time, span time.Duration, n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	b.WriteString("#Version: 1.0\n")
	b.WriteString(fields33)
	edges := []string{"FRA56-P1", "IAD89-C2", "NRT57-P3", "LHR61-P2"}
	paths := []string{"/", "/index.html", "/missing/page", "/assets/app.js", "/img/logo.png", "/api/v1/items"}
	for i := 0; i < n; i++ {
		t := hour.Add(time.Duration(r.Int64N(int64(span))))
		status, rt, drt := 200, "Hit", "Hit"
		switch x := r.IntN(100); {
		case x < 10:
			status, rt, drt = 500, "Error", "OriginCommError"
		case x < 25:
			status, rt, drt = 404, "Error", "Error"
		case x < 50:
			rt, drt = "Miss", "Miss"
		case x < 55:
			status, rt, drt = 304, "RefreshHit", "RefreshHit"
		}
		query := "-"
		if r.IntN(4) == 0 {
			query = fmt.Sprintf("q=%d", r.IntN(1000))
		}
		xff := "-"
		if r.IntN(10) == 0 {
			xff = fmt.Sprintf("198.51.100.%d", r.IntN(255))
		}
		rangeStart, rangeEnd := "-", "-"
		if r.IntN(20) == 0 {
			rangeStart, rangeEnd = "0", fmt.Sprint(r.IntN(100000))
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%d\t203.0.113.%d\tGET\td111111abcdef8.cloudfront.net\t%s\t%d\t-\tMozilla/5.0%%20(X11;%%20Linux)%%20v%d\t%s\t-\t%s\t%s==\twww.example.com\thttps\t%d\t%.3f\t%s\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t%s\tHTTP/2.0\t-\t-\t%d\t%.3f\t%s\ttext/html\t%d\t%s\t%s\n",
			t.Format("2006-01-02"), t.Format("15:04:05"), edges[r.IntN(len(edges))], 200+r.IntN(50000),
			r.IntN(255), paths[r.IntN(len(paths))], status, r.IntN(5), query, rt,
			fmt.Sprintf("req%016x%08x", r.Uint64(), i), 30+r.IntN(900), float64(r.IntN(3000))/1000, xff, rt,
			1024+r.IntN(60000), float64(r.IntN(2000))/1000, drt, 100+r.IntN(50000), rangeStart, rangeEnd)
	}
	return b.Bytes()
}

// parseLog parses one object's text into batches of the full schema.
func parseLog(t testing.TB, mem memory.Allocator, ref ingest.ObjectRef, data []byte) []arrow.RecordBatch {
	t.Helper()
	rd := logparse.NewReader(bytes.NewReader(data), logparse.WithSource(ref.Key),
		logparse.WithDistribution(ref.DistributionID, ref.Role), logparse.WithAllocator(mem), logparse.WithBatchRows(1000))
	defer rd.Release()
	var out []arrow.RecordBatch
	for rd.Next() {
		b := rd.Batch()
		b.Retain()
		out = append(out, b)
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("parse %s: %v", ref.Key, err)
	}
	return out
}

// object is one source object of a test.
type object struct {
	ref  ingest.ObjectRef
	data []byte
}

// ingestObjects parses and writes the objects through w, skipping those
// that w.Has unless force is set, and closes w.
func ingestObjects(t testing.TB, mem memory.Allocator, w *Writer, objs []object, force bool) (written int) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		if !force && w.Has(o.ref) {
			continue
		}
		batches := parseLog(t, mem, o.ref, o.data)
		os, err := w.Begin(ctx, o.ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			if err := os.Write(b); err != nil {
				t.Fatal(err)
			}
			b.Release()
		}
		if err := os.Commit(); err != nil {
			t.Fatal(err)
		}
		written++
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return written
}

// collectSink keeps the batches it is given, by object.
type collectSink struct {
	mu      sync.Mutex
	objects map[string][]arrow.RecordBatch
	closed  bool
}

func newCollectSink() *collectSink { return &collectSink{objects: map[string][]arrow.RecordBatch{}} }

func (c *collectSink) Begin(ctx context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	return &collectObject{c: c, key: ref.Key}, nil
}

func (c *collectSink) Close(ctx context.Context) error { c.closed = true; return nil }

func (c *collectSink) all() []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for _, bs := range c.objects {
		out = append(out, bs...)
	}
	return out
}

func (c *collectSink) release() {
	for _, bs := range c.objects {
		for _, b := range bs {
			b.Release()
		}
	}
}

type collectObject struct {
	c   *collectSink
	key string
	bs  []arrow.RecordBatch
}

func (o *collectObject) Write(b arrow.RecordBatch) error {
	b.Retain()
	o.bs = append(o.bs, b)
	return nil
}

func (o *collectObject) Commit() error {
	o.c.mu.Lock()
	o.c.objects[o.key] = append(o.c.objects[o.key], o.bs...)
	o.c.mu.Unlock()
	return nil
}

func (o *collectObject) Abort() {
	for _, b := range o.bs {
		b.Release()
	}
}

// rowsOf turns batches into rows of Go values, one per column, sorted by
// (source, line) so that row order does not matter.
func rowsOf(t testing.TB, sc *arrow.Schema, batches []arrow.RecordBatch) [][]any {
	t.Helper()
	var rows [][]any
	for _, b := range batches {
		if !b.Schema().Equal(sc) {
			t.Fatalf("batch schema\n%s\nwant\n%s", b.Schema(), sc)
		}
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]any, b.NumCols())
			for c := range row {
				row[c] = cell(b.Column(c), i)
			}
			rows = append(rows, row)
		}
	}
	src, line := sc.FieldIndices("source"), sc.FieldIndices("line")
	if len(src) == 1 && len(line) == 1 {
		sort.SliceStable(rows, func(a, b int) bool {
			sa, sb := fmt.Sprint(rows[a][src[0]]), fmt.Sprint(rows[b][src[0]])
			if sa != sb {
				return sa < sb
			}
			return rows[a][line[0]].(int64) < rows[b][line[0]].(int64)
		})
	}
	return rows
}

func cell(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Dictionary:
		return cell(a.Dictionary(), a.GetValueIndex(i))
	case *array.String:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	}
	return fmt.Sprintf("unexpected %s", a.DataType())
}

// visibleFiles lists what a "**/*.parquet" glob sees under root, with
// each file's content, so two states of a dataset can be compared.
func visibleFiles(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".parquet") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
