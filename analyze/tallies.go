package analyze

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tallies are the grouped counts an analysis is computed from: whatever
// engine counted the rows (the streaming Aggregator, or the SQL of
// package queries), the same tallies give the same Result through Build.
type Tallies struct {
	// fine counts all analyzed rows by window × role × local clock hour
	// × time bucket; errFine counts the error-path rows among them
	// (after path classification).
	fine, errFine fineSet
	// cells holds the status histogram and the result types of the 500s
	// by window × role.
	cells map[cellKey]*cellAgg
	// buckets holds the cells by bucket as well, when the Aggregator
	// kept them (Options.BucketCells), for recut.
	buckets map[bucketKey]*bucketCell
	paths   pathTally

	rows, outOfRange, settling, unknownRole int64
	// minTs and maxTs bound the analyzed rows' timestamps (ms); they
	// are MaxInt64 and MinInt64 when no row was analyzed.
	minTs, maxTs     int64
	objects, aborted int64
}

// pathTally summarizes the path classification.
type pathTally struct {
	stems, errStems     int64
	requests, status500 int64 // of error paths
	// top lists the error paths by requests, topGood500 the good paths
	// with 500s by 500s (most first, then by stem), each at most TopPaths
	// long.
	top, topGood500 []PathCount
}

// Plan is what an analysis computes its result with besides the
// tallies: the options (defaults filled in) and the configuration
// windows of the range.
type Plan struct {
	Options Options
	// Windows are the configuration windows, unbounded sides left zero;
	// the tallies' window numbers index this slice.
	Windows []Window
	// ErrorRule is the path classification rule as reported: "auto" or
	// "regex:" and the expression.
	ErrorRule string
}

// NewPlan checks the options, fills in the defaults and computes the
// windows.
func NewPlan(opts Options) (Plan, error) {
	def := DefaultOptions()
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Bucket <= 0 {
		opts.Bucket = def.Bucket
	}
	if opts.Bucket%time.Millisecond != 0 {
		return Plan{}, fmt.Errorf("bucket %s: not a whole number of milliseconds", opts.Bucket)
	}
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = def.MemoryBudget
	}
	if opts.PeakShareFactor <= 0 {
		opts.PeakShareFactor = def.PeakShareFactor
	}
	if opts.PeakMinExpected <= 0 {
		opts.PeakMinExpected = def.PeakMinExpected
	}
	if opts.TopPaths <= 0 {
		opts.TopPaths = def.TopPaths
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Settle < 0 {
		return Plan{}, fmt.Errorf("settle %s: negative", opts.Settle)
	}
	tl := opts.Timeline
	if tl == nil {
		tl = &Timeline{}
	}
	if err := tl.Validate(); err != nil {
		return Plan{}, err
	}
	if opts.Production == "" {
		opts.Production = tl.Distributions.Production
	}
	if opts.Staging == "" {
		opts.Staging = tl.Distributions.Staging
	}
	if opts.Production != "" && opts.Production == opts.Staging {
		return Plan{}, fmt.Errorf("production and staging are the same distribution %s", opts.Production)
	}
	for id, role := range opts.Roles {
		if roleCode(role) == roleNone {
			return Plan{}, fmt.Errorf("distribution %s: unknown role %q", id, role)
		}
	}
	ws, err := Windows(tl, opts.From, opts.To, opts.Settle)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Options: opts, Windows: ws, ErrorRule: "auto"}
	if opts.ErrorPath != nil {
		p.ErrorRule = "regex:" + opts.ErrorPath.String()
	}
	return p, nil
}

// sortPaths orders path counts by a count, most first, then by stem.
func sortPaths(ps []PathCount, key func(PathCount) int64) {
	slices.SortFunc(ps, func(x, y PathCount) int {
		if c := cmp.Compare(key(y), key(x)); c != 0 {
			return c
		}
		return strings.Compare(x.Stem, y.Stem)
	})
}

func pathRequests(p PathCount) int64 { return p.Requests }
func path500(p PathCount) int64      { return p.Status500 }

// tallies classifies the committed stems and returns a copy of the
// merged aggregate as tallies. The caller holds a.mu.
func (a *Aggregator) tallies() (*Tallies, error) {
	g := a.global
	t := &Tallies{
		cells:       make(map[cellKey]*cellAgg, len(g.cells)),
		rows:        g.rows,
		outOfRange:  g.outOfRange,
		settling:    g.settling,
		unknownRole: g.unknownRole,
		minTs:       g.minTs,
		maxTs:       g.maxTs,
		objects:     a.objects,
		aborted:     a.aborted,
	}
	t.fine.merge(&g.fine)
	t.errFine.merge(&g.errFine)
	for k, c := range g.cells {
		cc := newCellAgg()
		cc.merge(c)
		t.cells[k] = cc
	}
	if len(g.sparse) > 0 {
		t.buckets = make(map[bucketKey]*bucketCell, len(g.sparse))
		for k, b := range g.sparse {
			t.buckets[k] = b.clone()
		}
		foldCells(t.cells, g.sparse, func(k bucketKey) int32 { return k.window })
	}
	n := a.opts.TopPaths
	keys := a.numberedKeys()
	newClassifier := func() *classifier {
		return &classifier{t: &Tallies{}, keys: keys, top: topList{n: n, key: pathRequests}, good500: topList{n: n, key: path500}}
	}
	var cs []*classifier
	if len(a.runs) == 0 {
		c := newClassifier()
		c.add(a.merged)
		cs = []*classifier{c}
	} else {
		var err error
		if cs, err = a.classifySpilled(newClassifier); err != nil {
			return nil, err
		}
	}
	top := topList{n: n, key: pathRequests}
	good500 := topList{n: n, key: path500}
	for _, c := range cs {
		t.errFine.merge(&c.t.errFine)
		p := &c.t.paths
		t.paths.stems += p.stems
		t.paths.errStems += p.errStems
		t.paths.requests += p.requests
		t.paths.status500 += p.status500
		for _, pc := range c.top.list() {
			top.add(pc)
		}
		for _, pc := range c.good500.list() {
			good500.add(pc)
		}
	}
	t.paths.top = headOf(top.list(), n)
	t.paths.topGood500 = headOf(good500.list(), n)
	return t, nil
}

// classifySpilled writes everything to the spill runs, then merges and
// classifies each partition on its own, on as many cores as the
// process has: partitions share no stem. Each classifier counts into
// tallies of its own, for the caller to add up. The caller holds a.mu,
// so no object is committed meanwhile; objects still being read may
// spill runs of their own, which this reading does not touch.
func (a *Aggregator) classifySpilled(newClassifier func() *classifier) ([]*classifier, error) {
	if err := a.spillMerged(); err != nil {
		return nil, err
	}
	a.spillMu.Lock()
	err := a.spill.seal()
	first := a.spill.reader()
	a.spillMu.Unlock()
	defer first.close()
	if err == nil {
		err = first.open(a.runs)
	}
	if err != nil {
		return nil, err
	}
	rrs := make([]*runReader, min(runtime.GOMAXPROCS(0), spillPartitions))
	rrs[0] = first
	for w := 1; w < len(rrs); w++ {
		rrs[w] = first.fork()
	}
	cs := make([]*classifier, len(rrs))
	errs := make([]error, len(rrs))
	var next atomic.Int32
	var wg sync.WaitGroup
	for w, rr := range rrs {
		c := newClassifier()
		cs[w] = c
		wg.Go(func() {
			part := newStemTable()
			for {
				p := int(next.Add(1)) - 1
				if p >= spillPartitions {
					return
				}
				if err := rr.read(p, a.runs); err != nil {
					errs[w] = err
					next.Store(spillPartitions)
					return
				}
				for sub := range subPartitions {
					part.reset()
					if err := rr.merge(part, sub); err != nil {
						errs[w] = err
						next.Store(spillPartitions)
						return
					}
					c.add(part)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cs, nil
}

// classifier classifies merged stems into tallies, keeping the top
// lists exact.
type classifier struct {
	t            *Tallies
	keys         []fineKey // the fine keys by number
	errIdx       []int32   // the index in t.errFine of each fine key number, plus one (0: not looked up yet)
	top, good500 topList
}

// errAt returns the index in t.errFine of the fine key of number key,
// looking the key up once, not once per error path.
func (c *classifier) errAt(key int32) int {
	if int(key) >= len(c.errIdx) {
		c.errIdx = slices.Grow(c.errIdx, len(c.keys)-len(c.errIdx))[:len(c.keys)]
	}
	i := c.errIdx[key] - 1
	if i < 0 {
		i = int32(c.t.errFine.at(c.keys[key]))
		c.errIdx[key] = i + 1
	}
	return int(i)
}

// topList keeps the n first path counts by key (most first, then by
// stem): candidates are collected up to 2n, then sorted and cut to n, the
// n-th becoming the bar that later candidates must pass.
type topList struct {
	n   int
	key func(PathCount) int64
	ps  []PathCount
	bar *PathCount
}

func (l *topList) add(p PathCount) {
	if b := l.bar; b != nil && (l.key(p) < l.key(*b) || l.key(p) == l.key(*b) && p.Stem > b.Stem) {
		return
	}
	p.Stem = strings.Clone(p.Stem)
	l.ps = append(l.ps, p)
	if len(l.ps) >= 2*l.n {
		l.list()
	}
}

// list returns the top list, sorted.
func (l *topList) list() []PathCount {
	sortPaths(l.ps, l.key)
	if len(l.ps) >= l.n {
		l.ps = l.ps[:l.n]
		b := l.ps[l.n-1]
		l.bar = &b
	}
	return l.ps
}

func (c *classifier) add(st *stemTable) {
	t := c.t
	t.paths.stems += int64(st.len())
	for i := range st.stems.n {
		r := st.stems.at(i)
		if !r.good() {
			if key, fc, ok := r.inlined(); ok {
				t.errFine.vals[c.errAt(key)].merge(fc)
			}
			for j := r.fine; j >= 0; {
				f := st.fine.at(j)
				t.errFine.vals[c.errAt(f.key)].merge(f.c)
				j = f.next
			}
			t.paths.errStems++
			t.paths.requests += r.req
			t.paths.status500 += r.s500
			c.top.add(PathCount{Stem: st.str(r), Requests: r.req, Status500: r.s500})
		} else if r.s500 > 0 {
			c.good500.add(PathCount{Stem: st.str(r), Requests: r.req, Status500: r.s500})
		}
	}
}

// Tallies returns the tallies of what has been committed so far. The
// tallies are shared by the calls made before the next commit or abort:
// nothing may change them.
func (a *Aggregator) Tallies() (*Tallies, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.tallied; t != nil && t.objects == a.objects && t.aborted == a.aborted {
		return t, nil
	}
	t, err := a.tallies()
	if err != nil {
		return nil, err
	}
	a.tallied = t
	return t, nil
}

// Result computes the analysis from what has been committed so far.
// Input.RejectedLines is left for the caller, who has the ingest summary.
// Should spilled path counts fail to read back (an error Close reports
// too), the result says so in its warnings and leaves the paths out.
func (a *Aggregator) Result() *Result {
	t, err := a.Tallies()
	if err != nil {
		a.mu.Lock()
		g := a.global
		t = &Tallies{fine: g.fine, errFine: g.errFine, cells: g.cells, rows: g.rows, outOfRange: g.outOfRange, settling: g.settling,
			unknownRole: g.unknownRole, minTs: g.minTs, maxTs: g.maxTs, objects: a.objects, aborted: a.aborted}
		if len(g.sparse) > 0 {
			t.cells = map[cellKey]*cellAgg{}
			foldCells(t.cells, g.sparse, func(k bucketKey) int32 { return k.window })
		}
		res := Build(t, a.plan)
		a.mu.Unlock()
		res.Warnings = append(res.Warnings, "path classification incomplete: "+err.Error())
		return res
	}
	return Build(t, a.plan)
}

// builder computes a Result from tallies and a plan.
type builder struct {
	opts      Options
	windows   []Window
	errorRule string
	bucketMS  int64
	global    *Tallies
	// off is the index of the first window reported.
	off int
}

// Build computes the analysis from tallies and the plan they were
// counted under. Input.RejectedLines is left for the caller, who has the
// ingest summary.
func Build(t *Tallies, p Plan) *Result {
	b := &builder{opts: p.Options, windows: p.Windows, errorRule: p.ErrorRule, bucketMS: p.Options.Bucket.Milliseconds(), global: t}
	return b.result()
}
