package analyze

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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
	paths pathTally

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
	overflowRows        int64
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
	if opts.MaxStems <= 0 {
		opts.MaxStems = def.MaxStems
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
func (a *Aggregator) tallies() *Tallies {
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
	// Path classification: error-path rows are those of the stems that
	// stayed candidates (or matched the expression).
	var errStems, goodWith500 []PathCount
	t.paths.stems = int64(len(g.stems))
	t.paths.overflowRows = g.overflowRows
	for s, st := range g.stems {
		if !st.good {
			if st.fine != nil {
				t.errFine.merge(st.fine)
			}
			errStems = append(errStems, PathCount{Stem: s, Requests: st.req, Status500: st.s500})
			t.paths.errStems++
			t.paths.requests += st.req
			t.paths.status500 += st.s500
		} else if st.s500 > 0 {
			goodWith500 = append(goodWith500, PathCount{Stem: s, Requests: st.req, Status500: st.s500})
		}
	}
	sortPaths(errStems, pathRequests)
	sortPaths(goodWith500, path500)
	t.paths.top = headOf(errStems, a.opts.TopPaths)
	t.paths.topGood500 = headOf(goodWith500, a.opts.TopPaths)
	return t
}

// Tallies returns the tallies of what has been committed so far.
func (a *Aggregator) Tallies() *Tallies {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tallies()
}

// Result computes the analysis from what has been committed so far.
// Input.RejectedLines is left for the caller, who has the ingest summary.
func (a *Aggregator) Result() *Result {
	return Build(a.Tallies(), a.plan)
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
