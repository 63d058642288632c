package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

// memStore is a Store with whole-object operations only, as S3 offers:
// the Writer and Read take their spool-file paths with it.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}} }

func (m *memStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("put %s: %d bytes, size says %d", key, len(b), size)
	}
	m.mu.Lock()
	m.objs[key] = b
	m.mu.Unlock()
	return nil
}

func (m *memStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("put %s: %d bytes, size says %d", key, len(b), size)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[key]; ok {
		return fmt.Errorf("put %s: %w", key, fs.ErrExist)
	}
	m.objs[key] = b
	return nil
}

func (m *memStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	b, ok := m.objs[key]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, fs.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) List(ctx context.Context, prefix string) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		m.mu.Lock()
		var refs []ingest.ObjectRef
		for k, b := range m.objs {
			if strings.HasPrefix(k, prefix) {
				refs = append(refs, ingest.ObjectRef{Key: k, Size: int64(len(b))})
			}
		}
		m.mu.Unlock()
		sort.Slice(refs, func(i, j int) bool { return refs[i].Key < refs[j].Key })
		for _, r := range refs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (m *memStore) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	delete(m.objs, key)
	m.mu.Unlock()
	return nil
}

func (m *memStore) keys(suffix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []string
	for k := range m.objs {
		if strings.HasSuffix(k, suffix) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

// TestObjectStore runs the writer and the reader on a store without local
// files (the S3 path) and folds a long journal into a snapshot.
func TestObjectStore(t *testing.T) {
	objs := testObjects(t)
	want := expectedRows(t, objs)
	st := newMemStore()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := Options{BufferBytes: 256 << 10, SnapshotEvery: 3, SpoolDir: t.TempDir(), Allocator: mem}
	// Three runs, the last one replacing objects: many journal records.
	for run, batch := range [][]object{objs[:5], objs[5:], changedObjects(objs)} {
		w, err := NewWriter(context.Background(), st, o)
		if err != nil {
			t.Fatal(err)
		}
		ingestObjects(t, mem, w, batch, false)
		if run == 2 {
			want = expectedRows(t, batch)
		}
	}
	got, _ := readAll(t, st, ReadOptions{SpoolDir: t.TempDir(), Allocator: mem}, schema.Arrow())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// One snapshot, nothing older, and no more records after it than
	// SnapshotEvery allows.
	snaps, records := st.keys(snapshotSuffix), st.keys(commitSuffix)
	if len(snaps) != 1 {
		t.Fatalf("journal holds %v, want one snapshot", records)
	}
	snapSeq, _, _ := journalName(snaps[0])
	for _, k := range records {
		if seq, suffix, _ := journalName(k); seq < snapSeq || (suffix == commitSuffix && seq == snapSeq) {
			t.Errorf("record %s is older than the snapshot", k)
		}
	}
	if len(records) > o.SnapshotEvery {
		t.Errorf("%d records after a close, want at most %d", len(records), o.SnapshotEvery)
	}
	if len(st.keys(pendingSuffix)) != 0 {
		t.Errorf("pending records left: %v", st.keys(pendingSuffix))
	}
	// The snapshot alone gives the same state: Has sees every object.
	w, err := NewWriter(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, ob := range changedObjects(objs) {
		if !w.Has(ob.ref) {
			t.Errorf("Has(%s) = false after snapshot", ob.ref.Key)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
