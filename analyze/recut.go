package analyze

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"
)

// Cutting counted rows into other windows.
//
// An analysis without a timeline cuts its windows at the changes it
// detects in its own time series, which it has only once every row is
// counted. Everything but the cells is counted by time bucket already
// (the fine keys), and with Options.BucketCells the cells are too, so
// the same tallies can be summed again into windows that start and end
// on bucket boundaries, as detected windows do: ResultFor gives what a
// second reading of the rows under those windows would give.

// ErrRecut is returned by ResultFor when the rows cannot be cut into
// the windows asked for without reading them again.
var ErrRecut = errors.New("cannot cut the counted rows into these windows")

// bucketCell is a cell's counts in one time bucket, kept sparse: a
// bucket has few distinct statuses, and a range has many buckets.
type bucketCell struct {
	status     []slotCount // by slot, ascending
	rt         [3]map[string]int64
	edgeErrors edgeErrors
}

type slotCount struct {
	slot int32
	n    int64
}

// add adds the counts of c to b (nil: an empty cell) and returns b.
func (b *bucketCell) add(c *cellAgg) *bucketCell {
	if b == nil {
		b = &bucketCell{}
	}
	sum := c.status
	for _, s := range b.status {
		sum[s.slot] += s.n
	}
	b.status = b.status[:0]
	for slot, n := range sum {
		if n != 0 {
			b.status = append(b.status, slotCount{int32(slot), n})
		}
	}
	for k, m := range c.rt {
		for s, n := range m {
			if b.rt[k] == nil {
				b.rt[k] = map[string]int64{}
			}
			b.rt[k][s] += n
		}
	}
	b.edgeErrors.add(c.edgeErrors)
	return b
}

// clone returns a copy of b that shares nothing with it.
func (b *bucketCell) clone() *bucketCell {
	c := &bucketCell{status: slices.Clone(b.status), edgeErrors: b.edgeErrors}
	for k, m := range b.rt {
		c.rt[k] = maps.Clone(m)
	}
	return c
}

// addTo adds b's counts to c.
func (b *bucketCell) addTo(c *cellAgg) {
	for _, s := range b.status {
		c.status[s.slot] += s.n
	}
	for k, m := range b.rt {
		for s, n := range m {
			c.rt[k][s] += n
		}
	}
	c.edgeErrors.add(b.edgeErrors)
}

// foldCells adds cells kept by bucket to cells by window and role, the
// window of each bucket given by window.
func foldCells(dst map[cellKey]*cellAgg, src map[bucketKey]*bucketCell, window func(bucketKey) int32) {
	for k, b := range src {
		ck := cellKey{window(k), k.role}
		c := dst[ck]
		if c == nil {
			c = newCellAgg()
			dst[ck] = c
		}
		b.addTo(c)
	}
}

// windowFinder returns the index of the window of p holding an instant
// (ms since the epoch), as the Aggregator assigns rows.
func windowFinder(p Plan) func(ms int64) int32 {
	to := make([]int64, len(p.Windows))
	for i, w := range p.Windows {
		to[i] = math.MaxInt64
		if !w.To.IsZero() {
			to[i] = w.To.UnixMilli()
		}
	}
	return func(ms int64) int32 {
		i := sort.Search(len(to), func(i int) bool { return to[i] > ms })
		return int32(min(i, len(to)-1))
	}
}

// recut returns the tallies of the same rows counted under plan p,
// whose windows start and end on bucket boundaries (besides the range's
// own ends) and have no settle margins. t must keep its cells by bucket.
func (t *Tallies) recut(p Plan, bucketMS int64) *Tallies {
	find := windowFinder(p)
	r := &Tallies{
		cells:       map[cellKey]*cellAgg{},
		paths:       t.paths,
		rows:        t.rows,
		outOfRange:  t.outOfRange,
		settling:    t.settling,
		unknownRole: t.unknownRole,
		minTs:       t.minTs,
		maxTs:       t.maxTs,
		objects:     t.objects,
		aborted:     t.aborted,
	}
	for _, sets := range [][2]*fineSet{{&r.fine, &t.fine}, {&r.errFine, &t.errFine}} {
		dst, src := sets[0], sets[1]
		for i, k := range src.keys {
			k.window = find(k.bucket * bucketMS)
			dst.vals[dst.at(k)].merge(src.vals[i])
		}
	}
	foldCells(r.cells, t.buckets, func(k bucketKey) int32 { return find(k.bucket * bucketMS) })
	return r
}

// ResultFor computes the analysis of the rows counted so far under the
// windows of tl instead of the options' timeline, as a second reading of
// the rows would. It needs Options.BucketCells, no settle margin, and
// every change of tl inside the range on a bucket boundary; otherwise
// it returns an error wrapping ErrRecut.
func (a *Aggregator) ResultFor(tl *Timeline) (*Result, error) {
	if !a.opts.BucketCells {
		return nil, fmt.Errorf("%w: the cells were not kept by bucket", ErrRecut)
	}
	if a.opts.Settle > 0 {
		return nil, fmt.Errorf("%w: settle margins leave out rows by window", ErrRecut)
	}
	o := a.opts
	o.Timeline, o.BucketCells = tl, false
	p, err := NewPlan(o)
	if err != nil {
		return nil, err
	}
	for _, w := range p.Windows[1:] {
		if floorMod(w.From.UnixMilli(), a.bucketMS) != 0 {
			return nil, fmt.Errorf("%w: the window from %s does not start on a %s bucket",
				ErrRecut, w.From.Format(time.RFC3339Nano), p.Options.Bucket)
		}
	}
	t, err := a.Tallies()
	if err != nil {
		return nil, err
	}
	return Build(t.recut(p, a.bucketMS), p), nil
}
