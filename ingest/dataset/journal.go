package dataset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The journal is the dataset's manifest: a sequence of checkpoint records
// under journalDir. A checkpoint lists the source objects it took whole and
// the data files it added and removed; replaying the records from the
// latest snapshot gives the live files and the ingested objects.
const (
	metaDir        = "_cflens"
	journalDir     = metaDir + "/journal/"
	commitSuffix   = ".json"
	pendingSuffix  = ".pending.json"
	snapshotSuffix = ".snapshot.json"
	dataSuffix     = ".parquet"
)

// objectEntry is a source object taken whole into the dataset.
type objectEntry struct {
	Key  string `json:"key"`
	ETag string `json:"etag"`
	Size int64  `json:"size"`
	Rows int64  `json:"rows"`
}

// fileObject is the part of one source object held by a data file. The
// rows of one object are contiguous in a file, in the order of Objects.
type fileObject struct {
	Key  string `json:"key"`
	ETag string `json:"etag"`
	Rows int64  `json:"rows"`
}

// FileEntry is a live data file.
type FileEntry struct {
	Key     string       `json:"key"`
	Rows    int64        `json:"rows"`
	Bytes   int64        `json:"bytes"`
	Objects []fileObject `json:"objects"`
}

// checkpoint is one committed record of the journal.
type checkpoint struct {
	Seq      int64         `json:"seq"`
	Snapshot bool          `json:"snapshot,omitempty"`
	Objects  []objectEntry `json:"objects"`
	Added    []FileEntry   `json:"added"`
	Removed  []string      `json:"removed"`
}

// pendingRecord is written before a checkpoint's data files, so that a run
// that dies before committing can be rolled back (Added deleted) and one
// that dies after committing rolled forward (Removed deleted).
type pendingRecord struct {
	Seq     int64    `json:"seq"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// Swaps are the partition folders whose files are replaced by an
	// exchange with a staging folder (swap.go).
	Swaps []swapRecord `json:"swaps,omitempty"`
}

// state is the replayed journal.
type state struct {
	seq     int64
	objects map[string]objectEntry
	files   map[string]*FileEntry
	// byObject maps a source object key to the data files holding its rows.
	byObject map[string]map[string]struct{}
	// commits counts the records since the latest snapshot.
	commits int
}

func newState() *state {
	return &state{
		objects:  map[string]objectEntry{},
		files:    map[string]*FileEntry{},
		byObject: map[string]map[string]struct{}{},
	}
}

func (s *state) apply(cp *checkpoint) {
	if cp.Snapshot {
		*s = *newState()
	}
	s.seq = cp.Seq
	s.commits++
	for _, k := range cp.Removed {
		s.removeFile(k)
	}
	for i := range cp.Added {
		f := cp.Added[i]
		s.removeFile(f.Key) // a file rewritten under the same name
		s.files[f.Key] = &f
		for _, o := range f.Objects {
			m := s.byObject[o.Key]
			if m == nil {
				m = map[string]struct{}{}
				s.byObject[o.Key] = m
			}
			m[f.Key] = struct{}{}
		}
	}
	for _, o := range cp.Objects {
		s.objects[o.Key] = o
	}
}

func (s *state) removeFile(key string) {
	f := s.files[key]
	if f == nil {
		return
	}
	for _, o := range f.Objects {
		if m := s.byObject[o.Key]; m != nil {
			delete(m, key)
			if len(m) == 0 {
				delete(s.byObject, o.Key)
			}
		}
	}
	delete(s.files, key)
}

// snapshot returns a record holding the whole state.
func (s *state) snapshot(seq int64) *checkpoint {
	cp := &checkpoint{Seq: seq, Snapshot: true, Objects: make([]objectEntry, 0, len(s.objects)), Added: make([]FileEntry, 0, len(s.files))}
	for _, o := range s.objects {
		cp.Objects = append(cp.Objects, o)
	}
	sort.Slice(cp.Objects, func(i, j int) bool { return cp.Objects[i].Key < cp.Objects[j].Key })
	for _, f := range s.files {
		cp.Added = append(cp.Added, *f)
	}
	sort.Slice(cp.Added, func(i, j int) bool { return cp.Added[i].Key < cp.Added[j].Key })
	return cp
}

// sortedFiles returns the live files in key order.
func (s *state) sortedFiles() []FileEntry {
	out := make([]FileEntry, 0, len(s.files))
	for _, f := range s.files {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func journalKey(seq int64, suffix string) string {
	return fmt.Sprintf("%s%020d%s", journalDir, seq, suffix)
}

// journalName splits a journal key into its sequence number and suffix.
func journalName(key string) (seq int64, suffix string, ok bool) {
	base := path.Base(key)
	i := strings.IndexByte(base, '.')
	if i < 0 {
		return 0, "", false
	}
	n, err := strconv.ParseInt(base[:i], 10, 64)
	if err != nil {
		return 0, "", false
	}
	switch suffix = base[i:]; suffix {
	case commitSuffix, pendingSuffix, snapshotSuffix:
		return n, suffix, true
	}
	return 0, "", false
}

func putJSON(ctx context.Context, st Store, key string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	b = append(b, '\n')
	return st.Put(ctx, key, bytes.NewReader(b), int64(len(b)))
}

func getJSON(ctx context.Context, st Store, key string, v any) error {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// journalEntries lists the journal: commits and snapshots in sequence
// order, and pending records.
type journalEntries struct {
	commits  []int64 // sequence numbers, ascending
	snapshot map[int64]bool
	pending  []int64
}

func listJournal(ctx context.Context, st Store) (*journalEntries, error) {
	j := &journalEntries{snapshot: map[int64]bool{}}
	for ref, err := range st.List(ctx, journalDir) {
		if err != nil {
			return nil, fmt.Errorf("list journal: %w", err)
		}
		seq, suffix, ok := journalName(ref.Key)
		if !ok {
			continue
		}
		switch suffix {
		case commitSuffix:
			j.commits = append(j.commits, seq)
		case snapshotSuffix:
			j.commits = append(j.commits, seq)
			j.snapshot[seq] = true
		case pendingSuffix:
			j.pending = append(j.pending, seq)
		}
	}
	sort.Slice(j.commits, func(a, b int) bool { return j.commits[a] < j.commits[b] })
	sort.Slice(j.pending, func(a, b int) bool { return j.pending[a] < j.pending[b] })
	return j, nil
}

// loadState replays the journal from its latest snapshot.
func loadState(ctx context.Context, st Store) (*state, *journalEntries, error) {
	j, err := listJournal(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	s := newState()
	start := 0
	for i, seq := range j.commits {
		if j.snapshot[seq] {
			start = i
		}
	}
	for _, seq := range j.commits[start:] {
		suffix := commitSuffix
		if j.snapshot[seq] {
			suffix = snapshotSuffix
		}
		var cp checkpoint
		if err := getJSON(ctx, st, journalKey(seq, suffix), &cp); err != nil {
			return nil, nil, fmt.Errorf("load journal: %w", err)
		}
		s.apply(&cp)
	}
	return s, j, nil
}

// recover finishes or undoes the checkpoints that a previous run left
// pending, so that no file outside the journal stays visible.
func recoverPending(ctx context.Context, st Store, s *state, j *journalEntries) error {
	committed := map[int64]bool{}
	for _, seq := range j.commits {
		committed[seq] = true
	}
	for _, seq := range j.pending {
		var p pendingRecord
		if err := getJSON(ctx, st, journalKey(seq, pendingSuffix), &p); err != nil {
			return fmt.Errorf("recover checkpoint %d: %w", seq, err)
		}
		if err := undoSwaps(st, p, committed[seq]); err != nil {
			return fmt.Errorf("recover checkpoint %d: %w", seq, err)
		}
		drop := p.Added
		if committed[seq] {
			drop = p.Removed
		}
		for _, k := range drop {
			if _, live := s.files[k]; live {
				continue
			}
			if err := st.Delete(ctx, k); err != nil {
				return fmt.Errorf("recover checkpoint %d: %w", seq, err)
			}
		}
		if err := st.Delete(ctx, journalKey(seq, pendingSuffix)); err != nil {
			return fmt.Errorf("recover checkpoint %d: %w", seq, err)
		}
	}
	return nil
}

// fileName names a data file from the source objects whose rows it holds:
// the same objects give the same name, so writing them again replaces the
// file instead of adding a duplicate.
func fileName(objs []fileObject) string {
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key + "\x00" + o.ETag
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		io.WriteString(h, k)
		h.Write([]byte{'\n'})
	}
	return "cflens-" + hex.EncodeToString(h.Sum(nil)[:16]) + dataSuffix
}
