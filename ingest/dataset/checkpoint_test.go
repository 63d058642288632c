package dataset

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
)

// planned is what a test compares of a checkpointPlan.
type planned struct {
	Seq     int64
	Pending pendingRecord
	Objects []objectEntry
	Jobs    []plannedJob
}

type plannedJob struct {
	Dir   string
	Olds  []string
	Out   FileEntry
	Drops []string
	Adopt bool
}

func summarize(p *checkpointPlan) *planned {
	if p == nil {
		return nil
	}
	out := &planned{Seq: p.seq, Pending: p.pending, Objects: p.objects}
	for _, j := range p.jobs {
		pj := plannedJob{Dir: j.part.Dir(), Out: j.out, Drops: j.drops, Adopt: j.adopt != nil}
		for _, f := range j.olds {
			pj.Olds = append(pj.Olds, f.Key)
		}
		out.Jobs = append(out.Jobs, pj)
	}
	return out
}

// TestPlanCheckpoint checks the plan of a checkpoint, a pure function of
// the journal's state and the buffer: which files are written, which are
// replaced, and the pending and commit records.
func TestPlanCheckpoint(t *testing.T) {
	const h = 487000 // an hour since the epoch
	pk := func(dist string, hour int64) partKey { return partKey{dist: dist, hour: hour} }
	dir := func(k partKey) string { return k.partition().Dir() }
	a, b := pk("E1", h), pk("E1", h+1)
	fo := func(key, etag string, rows int64) fileObject { return fileObject{Key: key, ETag: etag, Rows: rows} }
	file := func(k partKey, objs ...fileObject) FileEntry {
		var rows int64
		for _, o := range objs {
			rows += o.Rows
		}
		return FileEntry{Key: dir(k) + "/" + fileName(objs), Rows: rows, Bytes: 100, Objects: objs}
	}
	// replay replays commit records.
	replay := func(cps ...*checkpoint) *state {
		s := newState()
		for _, cp := range cps {
			s.apply(cp)
		}
		return s
	}
	// held makes an object whose rows are in memory, staged an object
	// whose rows are in staging files; parts give the rows per partition.
	rowsBatch := func(n int64) arrow.RecordBatch { return array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, n) }
	held := func(key, etag string, parts map[partKey]int64) *pendingObject {
		o := &pendingObject{ref: ingest.ObjectRef{Key: key, ETag: etag, Size: 10}, parts: map[partKey][]arrow.RecordBatch{}}
		for k, n := range parts {
			o.parts[k] = []arrow.RecordBatch{rowsBatch(n - 1), rowsBatch(1)}
			o.rows += n
		}
		return o
	}
	staged := func(key, etag string, parts map[partKey]int64) *pendingObject {
		o := &pendingObject{ref: ingest.ObjectRef{Key: key, ETag: etag, Size: 10}, staged: map[partKey]*stagedPart{}}
		for k, n := range parts {
			o.staged[k] = &stagedPart{rows: n}
			o.rows += n
		}
		return o
	}
	buf := func(final bool, objs ...*pendingObject) *buffer {
		b := &buffer{objects: map[string]*pendingObject{}, final: final}
		for _, o := range objs {
			b.objects[o.ref.Key] = o
		}
		return b
	}
	entry := func(key, etag string, rows int64) objectEntry {
		return objectEntry{Key: key, ETag: etag, Size: 10, Rows: rows}
	}

	// A dataset holding x (in hour a, with y) and a lone small file z in
	// hour b.
	xy := file(a, fo("x", "1", 10), fo("y", "1", 20))
	z := file(b, fo("z", "1", 5))
	// w, a second small file beside z: merged, the rows follow the
	// files in key order.
	w := file(b, fo("w", "1", 2))
	olds := []FileEntry{w, z}
	slices.SortFunc(olds, func(p, q FileEntry) int { return strings.Compare(p.Key, q.Key) })
	wz := file(b, slices.Concat(olds[0].Objects, olds[1].Objects)...)
	wzOlds := []string{olds[0].Key, olds[1].Key}
	existing := &checkpoint{Seq: 4, Objects: []objectEntry{entry("x", "1", 10), entry("y", "1", 20), entry("z", "1", 5)}, Added: []FileEntry{xy, z}}

	for _, tc := range []struct {
		name        string
		s           *state
		b           *buffer
		touched     map[string]bool
		compactRows int64
		want        *planned
	}{
		{
			name: "nothing buffered",
			s:    replay(existing),
			b:    buf(false),
			want: nil,
		},
		{
			name: "a new object in two hours, on an empty dataset",
			s:    replay(),
			b:    buf(false, held("n", "1", map[partKey]int64{a: 3, b: 4})),
			want: &planned{
				Seq:     1,
				Pending: pendingRecord{Seq: 1, Added: []string{file(a, fo("n", "1", 3)).Key, file(b, fo("n", "1", 4)).Key}},
				Objects: []objectEntry{entry("n", "1", 7)},
				Jobs: []plannedJob{
					{Dir: dir(a), Out: noBytes(file(a, fo("n", "1", 3)))},
					{Dir: dir(b), Out: noBytes(file(b, fo("n", "1", 4)))},
				},
			},
		},
		{
			name: "a changed object: its rows are left out of the file it shared, which is replaced",
			s:    replay(existing),
			b:    buf(false, held("x", "2", map[partKey]int64{a: 12})),
			want: &planned{
				Seq: 5,
				Pending: pendingRecord{Seq: 5,
					Added:   []string{file(a, fo("y", "1", 20), fo("x", "2", 12)).Key},
					Removed: []string{xy.Key}},
				Objects: []objectEntry{entry("x", "2", 12)},
				Jobs: []plannedJob{
					{Dir: dir(a), Olds: []string{xy.Key}, Out: noBytes(file(a, fo("y", "1", 20), fo("x", "2", 12))), Drops: []string{xy.Key}},
				},
			},
		},
		{
			name: "the same objects again: the file is rewritten under its own name, nothing removed",
			s:    replay(&checkpoint{Seq: 1, Objects: []objectEntry{entry("z", "1", 5)}, Added: []FileEntry{z}}),
			b:    buf(false, held("z", "1", map[partKey]int64{b: 5})),
			want: &planned{
				Seq:     2,
				Pending: pendingRecord{Seq: 2, Added: []string{z.Key}},
				Objects: []objectEntry{entry("z", "1", 5)},
				Jobs:    []plannedJob{{Dir: dir(b), Olds: []string{z.Key}, Out: noBytes(z)}},
			},
		},
		{
			name:        "final buffer: small files of a written folder are merged, a lone one elsewhere is not",
			s:           replay(existing),
			b:           buf(true, held("n", "1", map[partKey]int64{a: 3})),
			compactRows: 100,
			want: &planned{
				Seq: 5,
				Pending: pendingRecord{Seq: 5,
					Added:   []string{file(a, fo("x", "1", 10), fo("y", "1", 20), fo("n", "1", 3)).Key},
					Removed: []string{xy.Key}},
				Objects: []objectEntry{entry("n", "1", 3)},
				Jobs: []plannedJob{
					{Dir: dir(a), Olds: []string{xy.Key}, Out: noBytes(file(a, fo("x", "1", 10), fo("y", "1", 20), fo("n", "1", 3))), Drops: []string{xy.Key}},
				},
			},
		},
		{
			name:        "final buffer with nothing new: the small files of folders written earlier in the run are merged",
			s:           replay(existing, &checkpoint{Seq: 5, Objects: []objectEntry{entry("w", "1", 2)}, Added: []FileEntry{w}}),
			b:           buf(true),
			touched:     map[string]bool{dir(b): true},
			compactRows: 100,
			want: &planned{
				Seq: 6,
				Pending: pendingRecord{Seq: 6,
					Added:   []string{wz.Key},
					Removed: wzOlds},
				Jobs: []plannedJob{
					{Dir: dir(b), Olds: wzOlds, Out: noBytes(wz), Drops: wzOlds},
				},
			},
		},
		{
			name: "a staged object alone in its hours: its staging files are adopted",
			s:    replay(existing),
			b:    buf(false, staged("s", "1", map[partKey]int64{a: 7, b: 9})),
			want: &planned{
				Seq: 5,
				Pending: pendingRecord{Seq: 5, Added: []string{
					file(a, fo("s", "1", 7)).Key,
					file(b, fo("s", "1", 9)).Key,
				}},
				Objects: []objectEntry{entry("s", "1", 16)},
				Jobs: []plannedJob{
					{Dir: dir(a), Out: noBytes(file(a, fo("s", "1", 7))), Adopt: true},
					{Dir: dir(b), Out: noBytes(file(b, fo("s", "1", 9))), Adopt: true},
				},
			},
		},
		{
			name: "a staged object replacing rows beside kept ones, or beside another new object, is read back",
			s:    replay(existing),
			b:    buf(false, staged("x", "2", map[partKey]int64{a: 7, b: 9}), held("n", "1", map[partKey]int64{b: 1})),
			want: &planned{
				Seq: 5,
				Pending: pendingRecord{Seq: 5, Added: []string{
					file(a, fo("y", "1", 20), fo("x", "2", 7)).Key,
					file(b, fo("n", "1", 1), fo("x", "2", 9)).Key,
				}, Removed: []string{xy.Key}},
				Objects: []objectEntry{entry("n", "1", 1), entry("x", "2", 16)},
				Jobs: []plannedJob{
					{Dir: dir(a), Olds: []string{xy.Key}, Out: noBytes(file(a, fo("y", "1", 20), fo("x", "2", 7))), Drops: []string{xy.Key}},
					{Dir: dir(b), Out: noBytes(file(b, fo("n", "1", 1), fo("x", "2", 9)))},
				},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(planCheckpoint(tc.s, tc.b, tc.touched, tc.compactRows, 0))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// noBytes is a planned file entry: its size is known once written.
func noBytes(f FileEntry) FileEntry {
	f.Bytes = 0
	return f
}
