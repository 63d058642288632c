package dataset

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"
)

// job is the work of one partition in a checkpoint: the rows kept from
// the files it replaces, then the new objects' rows, into one file.
type job struct {
	part Partition
	olds []*FileEntry
	// copies is how many of olds, at its start, are kept whole and are
	// large enough to have their row groups copied (rowcopy.go);
	// stagedCopies how many of news, at its start, are staging files
	// that large. The file lists their objects first, then the rest of
	// olds, then the rest of news.
	copies       int
	stagedCopies int
	news         []newPart
	out          FileEntry
	drops        []string // replaced files, except one rewritten under the same name
	// swap, when set, names the staging folder that takes the folder's
	// next set of files, exchanged with the live folder (swap.go);
	// stage writes into it.
	swap  *swapRecord
	stage FileCreator
	// adopt is the staging file that is the whole of out, which is then
	// stored as it is instead of written (into stage, when set).
	adopt *stagedPart
}

// newPart is the rows of an object in a partition: batches in memory, or
// a staging file.
type newPart struct {
	obj     *pendingObject
	batches []arrow.RecordBatch
	staged  *stagedPart
	rows    int64
}

// checkpointPlan is what one checkpoint does, worked out before anything
// is written: the files to write (one job per partition, in folder
// order), the files they replace, and the journal records.
type checkpointPlan struct {
	seq int64
	// keys are the buffered objects, sorted.
	keys []string
	// replaced holds the buffered objects that the dataset already has
	// rows of; those rows are left out of the files they are kept from.
	replaced map[string]bool
	jobs     []*job
	// objects are the entries of the commit record for keys.
	objects []objectEntry
	pending pendingRecord
}

// planCheckpoint works out the checkpoint that writes b into the dataset
// whose replayed journal is s. touched holds the partition folders written
// earlier in the run; when b is the run's final buffer and compactRows is
// positive, files with fewer rows in those folders (and in the ones b
// writes to) are merged. Kept files of copyRows rows or more (none when
// copyRows is not positive) are candidates for having their row groups
// copied (rowcopy.go), and come first in their merged file. It reads s
// and b, changes neither, and does no I/O. It returns nil when there is
// nothing to do.
func planCheckpoint(s *state, b *buffer, touched map[string]bool, compactRows, copyRows int64) *checkpointPlan {
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p := &checkpointPlan{seq: s.seq + 1, keys: keys, replaced: map[string]bool{}}
	for _, k := range keys {
		if _, ok := s.objects[k]; ok || len(s.byObject[k]) > 0 {
			p.replaced[k] = true
		}
	}
	jobs := map[string]*job{}
	get := func(part Partition) *job {
		j := jobs[part.Dir()]
		if j == nil {
			j = &job{part: part}
			jobs[part.Dir()] = j
		}
		return j
	}
	for _, k := range keys {
		obj := b.objects[k]
		for pk, bs := range obj.parts {
			var rows int64
			for _, x := range bs {
				rows += x.NumRows()
			}
			j := get(pk.partition())
			j.news = append(j.news, newPart{obj: obj, batches: bs, rows: rows})
		}
		for pk, sp := range obj.staged {
			j := get(pk.partition())
			j.news = append(j.news, newPart{obj: obj, staged: sp, rows: sp.rows})
		}
	}
	oldSet := map[string]bool{}
	addOld := func(f *FileEntry) {
		if oldSet[f.Key] {
			return
		}
		part, ok := ParsePartition(f.Key)
		if !ok {
			return
		}
		oldSet[f.Key] = true
		j := get(part)
		j.olds = append(j.olds, f)
	}
	for k := range p.replaced {
		for fk := range s.byObject[k] {
			addOld(s.files[fk])
		}
	}
	if b.final && compactRows > 0 {
		for _, f := range smallFiles(s, compactRows, func(d string) bool { return touched[d] || jobs[d] != nil }, func(d string) bool { return jobs[d] != nil }) {
			addOld(f)
		}
	}
	if len(jobs) == 0 && len(keys) == 0 {
		return nil
	}

	order := make([]string, 0, len(jobs))
	for d := range jobs {
		order = append(order, d)
	}
	sort.Strings(order)
	p.pending.Seq = p.seq
	for _, d := range order {
		j := jobs[d]
		p.planJob(d, j, copyRows)
		if j.out.Key != "" {
			p.pending.Added = append(p.pending.Added, j.out.Key)
		}
		p.pending.Removed = append(p.pending.Removed, j.drops...)
		p.jobs = append(p.jobs, j)
	}
	for _, k := range keys {
		o := b.objects[k]
		p.objects = append(p.objects, objectEntry{Key: k, ETag: o.ref.ETag, Size: o.ref.Size, Rows: o.rows})
	}
	return p
}

// smallFiles returns the files with fewer than compactRows rows in the
// folders that in selects, except a lone small file in a folder that
// written does not select: merging it alone would rewrite it as it is.
func smallFiles(s *state, compactRows int64, in, written func(dir string) bool) []*FileEntry {
	small := map[string][]*FileEntry{}
	for _, f := range s.files {
		d := path.Dir(f.Key)
		if f.Rows < compactRows && in(d) {
			small[d] = append(small[d], f)
		}
	}
	var out []*FileEntry
	for d, fs := range small {
		if len(fs) < 2 && !written(d) {
			continue
		}
		out = append(out, fs...)
	}
	return out
}

// planJob names the output file of the job for folder d (none when no
// row is left) from the objects whose rows it will hold, and lists the
// files it replaces. The files to copy (kept whole, of copyRows rows or
// more) come first, in key order, then the staging files to copy (of
// copyRows rows or more), then the other files in key order and the
// other new rows. When the file's rows are those of one staging file,
// that file is adopted.
func (p *checkpointPlan) planJob(d string, j *job, copyRows int64) {
	copyable := func(f *FileEntry) bool {
		if copyRows <= 0 || f.Rows < copyRows {
			return false
		}
		for _, o := range f.Objects {
			if p.replaced[o.Key] {
				return false
			}
		}
		return true
	}
	sort.Slice(j.olds, func(a, c int) bool {
		if ca, cc := copyable(j.olds[a]), copyable(j.olds[c]); ca != cc {
			return ca
		}
		return j.olds[a].Key < j.olds[c].Key
	})
	for j.copies < len(j.olds) && copyable(j.olds[j.copies]) {
		j.copies++
	}
	stagedCopy := func(n newPart) bool { return copyRows > 0 && n.staged != nil && n.rows >= copyRows }
	slices.SortStableFunc(j.news, func(a, c newPart) int {
		switch ca, cc := stagedCopy(a), stagedCopy(c); {
		case ca && !cc:
			return -1
		case cc && !ca:
			return 1
		}
		return 0
	})
	for j.stagedCopies < len(j.news) && stagedCopy(j.news[j.stagedCopies]) {
		j.stagedCopies++
	}
	var objs []fileObject
	var rows int64
	addOlds := func(fs []*FileEntry) {
		for _, f := range fs {
			for _, o := range f.Objects {
				if !p.replaced[o.Key] {
					objs = append(objs, o)
					rows += o.Rows
				}
			}
		}
	}
	addNews := func(ns []newPart) {
		for _, n := range ns {
			objs = append(objs, fileObject{Key: n.obj.ref.Key, ETag: n.obj.ref.ETag, Rows: n.rows})
			rows += n.rows
		}
	}
	addOlds(j.olds)
	if rows == 0 && len(j.news) == 1 && j.news[0].staged != nil {
		j.adopt = j.news[0].staged
	}
	objs, rows = objs[:0], 0
	addOlds(j.olds[:j.copies])
	addNews(j.news[:j.stagedCopies])
	addOlds(j.olds[j.copies:])
	addNews(j.news[j.stagedCopies:])
	if rows > 0 {
		j.out = FileEntry{Key: d + "/" + fileName(objs), Rows: rows, Objects: objs}
	}
	for _, f := range j.olds {
		if f.Key != j.out.Key {
			j.drops = append(j.drops, f.Key)
		}
	}
}

// commitRecord is the journal record that commits the plan, once its
// files are written (their sizes set).
func (p *checkpointPlan) commitRecord() *checkpoint {
	cp := &checkpoint{Seq: p.seq, Objects: p.objects, Removed: p.pending.Removed}
	for _, j := range p.jobs {
		if j.out.Key != "" {
			cp.Added = append(cp.Added, j.out)
		}
	}
	return cp
}

// checkpoint writes b into the dataset (see Writer for the steps).
func (w *Writer) checkpoint(ctx context.Context, b *buffer) error {
	w.smu.RLock()
	var compactRows int64
	if b.final {
		compactRows = w.o.CompactRows
	}
	p := planCheckpoint(w.state, b, w.touched, compactRows, w.o.CopyRows)
	w.smu.RUnlock()
	if p == nil {
		return nil
	}
	return w.applyCheckpoint(ctx, p)
}

// applyCheckpoint carries out a plan: the pending record, the files (in
// staging folders where a folder's files are replaced and the store can
// exchange folders), the exchanges, the commit record, then the deletion
// of the replaced files, the staging folders and the pending record.
func (w *Writer) applyCheckpoint(ctx context.Context, p *checkpointPlan) error {
	seq := p.seq
	sw, _ := w.st.(swapper)
	var swaps map[string]*swapRecord // by distribution folder
	if sw != nil && sw.canSwap() {
		swaps = map[string]*swapRecord{}
		for _, j := range p.jobs {
			if d := distDir(j.part.Dir()); len(j.drops) > 0 && swaps[d] == nil {
				swaps[d] = &swapRecord{Dir: d, Stage: fmt.Sprintf("%d-%d", seq, len(swaps))}
			}
		}
		// Every file of a swapped distribution is written into its
		// staging folder, or the exchange would take it away.
		for _, j := range p.jobs {
			j.swap = swaps[distDir(j.part.Dir())]
		}
		for _, d := range slices.Sorted(maps.Keys(swaps)) {
			p.pending.Swaps = append(p.pending.Swaps, *swaps[d])
		}
	}
	if err := putJSON(ctx, w.st, journalKey(seq, pendingSuffix), p.pending); err != nil {
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	w.step("pending")
	for _, r := range p.pending.Swaps {
		var drops []string
		for _, j := range p.jobs {
			if j.swap != nil && j.swap.Dir == r.Dir {
				drops = append(drops, j.drops...)
			}
		}
		fc, err := sw.stage(r, seq, drops)
		if err != nil {
			w.rollback(p.pending)
			return fmt.Errorf("checkpoint %d: %w", seq, err)
		}
		for _, j := range p.jobs {
			if j.swap != nil && j.swap.Dir == r.Dir {
				j.stage = fc
			}
		}
	}
	if err := w.writeFiles(ctx, p); err != nil {
		w.rollback(p.pending)
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	for _, j := range p.jobs {
		if j.adopt != nil && j.out.Key != "" {
			w.step("adopted")
		}
	}
	w.step("written")
	if len(p.pending.Swaps) > 0 {
		if err := w.lease.check(); err != nil {
			return fmt.Errorf("checkpoint %d: %w", seq, err)
		}
	}
	for _, r := range p.pending.Swaps {
		if err := sw.exchange(r); err != nil {
			w.rollback(p.pending)
			return fmt.Errorf("checkpoint %d: %w", seq, err)
		}
		w.step("exchanged")
	}
	cp := p.commitRecord()
	if err := w.lease.check(); err != nil {
		// Another run may own the dataset now: its files are not ours to
		// delete, and the next run that opens the dataset undoes ours.
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	if err := putJSON(ctx, w.st, journalKey(seq, commitSuffix), cp); err != nil {
		w.rollback(p.pending)
		return fmt.Errorf("checkpoint %d: commit: %w", seq, err)
	}
	w.smu.Lock()
	w.state.apply(cp)
	w.smu.Unlock()
	w.step("committed")
	for _, j := range p.jobs {
		w.touched[j.part.Dir()] = true
	}
	for _, r := range p.pending.Swaps {
		if err := sw.removeStage(r, seq); err != nil {
			return fmt.Errorf("checkpoint %d: %w", seq, err)
		}
	}
	for _, k := range p.pending.Removed {
		if err := w.st.Delete(ctx, k); err != nil {
			return fmt.Errorf("checkpoint %d: delete replaced file: %w", seq, err)
		}
		w.step("deleted")
	}
	if err := w.st.Delete(ctx, journalKey(seq, pendingSuffix)); err != nil {
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	w.o.Logger.Debug("checkpoint", "seq", seq, "objects", len(p.keys), "added", len(cp.Added), "removed", len(cp.Removed))
	return nil
}

// distDir is the distribution folder of a partition folder.
func distDir(partDir string) string {
	d, _, _ := strings.Cut(partDir, "/")
	return d
}

// step marks the end of a step of applyCheckpoint, for tests that stop
// there.
func (w *Writer) step(name string) {
	if w.o.stepHook != nil {
		w.o.stepHook(name)
	}
}

// writeFiles writes the output files of the plan's jobs, Options.Parallel
// at a time, and records their sizes.
func (w *Writer) writeFiles(ctx context.Context, p *checkpointPlan) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.o.Parallel)
	for _, j := range p.jobs {
		if j.out.Key == "" {
			continue
		}
		g.Go(func() error {
			var n int64
			var err error
			if j.adopt != nil {
				n, err = w.adopt(gctx, j.out.Key, j.adopt, j.stage)
			} else {
				n, err = w.writeFile(gctx, j, p.replaced)
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", j.out.Key, err)
			}
			j.out.Bytes = n
			return nil
		})
	}
	return g.Wait()
}

// rollback undoes a checkpoint that failed before its commit record, as
// far as it can; what it cannot undo is undone when the dataset is next
// opened.
func (w *Writer) rollback(p pendingRecord) {
	ctx := context.WithoutCancel(w.ctx)
	if err := undoSwaps(w.st, p, false); err != nil {
		w.o.Logger.Warn("roll back checkpoint", "seq", p.Seq, "err", err)
		return
	}
	w.smu.RLock()
	var drop []string
	for _, k := range p.Added {
		if _, live := w.state.files[k]; !live {
			drop = append(drop, k)
		}
	}
	w.smu.RUnlock()
	for _, k := range drop {
		if err := w.st.Delete(ctx, k); err != nil {
			w.o.Logger.Warn("roll back checkpoint", "seq", p.Seq, "err", err)
			return
		}
	}
	if err := w.st.Delete(ctx, journalKey(p.Seq, pendingSuffix)); err != nil {
		w.o.Logger.Warn("roll back checkpoint", "seq", p.Seq, "err", err)
	}
}
