package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/s3source"
	"github.com/cflens/cflens/ingest/s3test"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	srv := s3test.Start(t)
	c := s3test.Client(srv.URL)
	s3test.CreateBucket(t, c, "cflens-store")
	loc, err := s3source.ParseURL("s3://cflens-store/dataset/")
	if err != nil {
		t.Fatal(err)
	}
	return NewStore(c, loc)
}

// onlyReader hides every method but Read, so that Put cannot seek.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestStoreRoundTrip(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 70_000) // 1.1 MB
	tests := []struct {
		name string
		key  string
		body []byte
		r    func(b []byte) io.Reader
	}{
		{name: "seekable", key: "distributionid=E1/year=2025/month=09/day=10/hour=08/a.parquet", body: []byte("PAR1 small"),
			r: func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{name: "not seekable", key: "distributionid=E1/year=2025/month=09/day=10/hour=09/b.parquet", body: big,
			r: func(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} }},
		{name: "spooled to a file", key: "distributionid=E1/year=2025/month=09/day=10/hour=10/c.parquet", body: big[:100_001],
			r: func(b []byte) io.Reader { st.bufferLimit = 1000; return onlyReader{bytes.NewReader(b)} }},
		{name: "empty", key: "_manifest/empty", body: []byte{},
			r: func(b []byte) io.Reader { return bytes.NewReader(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := st.Put(ctx, tt.key, tt.r(tt.body), int64(len(tt.body))); err != nil {
				t.Fatalf("Put: %v", err)
			}
			rc, err := st.Get(ctx, tt.key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tt.body) {
				t.Errorf("Get returned %d bytes, want the %d put", len(got), len(tt.body))
			}
		})
	}

	t.Run("list", func(t *testing.T) {
		var got []string
		for ref, err := range st.List(ctx, "distributionid=E1/") {
			if err != nil {
				t.Fatal(err)
			}
			if ref.ETag == "" || strings.Contains(ref.ETag, `"`) || ref.Source != "s3://cflens-store/dataset/" ||
				ref.DistributionID != "E1" || ref.Hour.IsZero() || ref.Size == 0 {
				t.Errorf("ref %+v: want an unquoted ETag and the store's location", ref)
			}
			got = append(got, ref.Key)
		}
		want := []string{tests[0].key, tests[1].key, tests[2].key}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := st.Delete(ctx, tests[0].key); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := st.Delete(ctx, tests[0].key); err != nil {
			t.Errorf("second Delete: %v, want nil", err)
		}
		_, err := st.Get(ctx, tests[0].key)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get after Delete: %v, want fs.ErrNotExist", err)
		}
	})
}

func TestStorePutErrors(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	tests := []struct {
		name string
		key  string
		body string
		size int64
		want error
	}{
		{name: "short body", key: "a", body: "abc", size: 10, want: io.ErrUnexpectedEOF},
		{name: "absolute key", key: "/a", body: "abc", size: 3},
		{name: "dot dot", key: "a/../b", body: "abc", size: 3},
		{name: "negative size", key: "a", body: "abc", size: -1},
		{name: "over the limit", key: "a", body: "abc", size: MaxPutSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.Put(ctx, tt.key, onlyReader{strings.NewReader(tt.body)}, tt.size)
			if err == nil {
				t.Fatal("Put succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Put: %v, want %v", err, tt.want)
			}
		})
	}
	st.bufferLimit = 1
	if err := st.Put(ctx, "spooled", onlyReader{strings.NewReader("abc")}, 4); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Put of a short spooled body: %v, want io.ErrUnexpectedEOF", err)
	}
	// Nothing was written by the failed puts.
	for ref, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("found %s after failed puts", ref.Key)
	}
}

// TestStorePutIfAbsent checks that the server honours If-None-Match: *
// on PutObject (versitygw does since v1.8.0; the dataset's lease relies
// on it): the first write creates the key, the second is refused with
// fs.ErrExist and leaves the first body, and of writers racing for one
// key exactly one wins.
func TestStorePutIfAbsent(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	if err := st.PutIfAbsent(ctx, "_cflens/lease/1.json", strings.NewReader("first"), 5); err != nil {
		t.Fatalf("first PutIfAbsent: %v", err)
	}
	err := st.PutIfAbsent(ctx, "_cflens/lease/1.json", strings.NewReader("second"), 6)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second PutIfAbsent: %v, want fs.ErrExist", err)
	}
	rc, err := st.Get(ctx, "_cflens/lease/1.json")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "first" {
		t.Errorf("key holds %q after a refused PutIfAbsent, want %q", got, "first")
	}

	const racers = 8
	errs := make(chan error, racers)
	for i := range racers {
		go func() {
			body := fmt.Sprintf("racer %d", i)
			errs <- st.PutIfAbsent(ctx, "_cflens/lease/2.json", strings.NewReader(body), int64(len(body)))
		}()
	}
	wins := 0
	for range racers {
		switch err := <-errs; {
		case err == nil:
			wins++
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("racing PutIfAbsent: %v, want nil or fs.ErrExist", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d racing PutIfAbsent calls created the key, want exactly 1", wins, racers)
	}
}
