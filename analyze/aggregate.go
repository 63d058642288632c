package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

// Options configure an analysis.
type Options struct {
	// Timeline gives the configuration windows; nil means one window of
	// unknown state.
	Timeline *Timeline
	// From and To bound the analysis by request time (zero: unbounded,
	// the result then reports the span of the rows seen).
	From, To time.Time
	// Settle leaves out requests in [change, change+Settle).
	Settle time.Duration
	// Location is the time zone of hour of day and day of week (UTC when
	// nil).
	Location *time.Location
	// Bucket is the width of the time series buckets (default 5 minutes).
	Bucket time.Duration
	// ErrorPath, when set, marks the error paths (matched against the
	// cs-uri-stem as logged); otherwise an error path is a stem that
	// never got a 2xx or 3xx response in the range.
	ErrorPath *regexp.Regexp
	// Production and Staging are the distribution IDs of the roles; they
	// override the timeline's.
	Production, Staging string
	// Roles maps further distribution IDs to roles ("production",
	// "staging"), for a role with several distributions.
	Roles map[string]string
	// MemoryBudget bounds the memory of the per-stem counts of the path
	// classification (default 64 MiB); past it they are spilled to files
	// in a folder under SpillDir (the system's temporary folder when
	// empty) and classified one hash partition at a time at the end, each
	// core holding one partition, 1/256 of what was spilled.
	MemoryBudget int64
	SpillDir     string
	// A clock hour of an enabled weighted policy with weight w is a peak
	// hour when staging got less than PeakShareFactor·w of the requests
	// while at least PeakMinExpected requests were expected there
	// (defaults 0.2 and 20).
	PeakShareFactor float64
	PeakMinExpected float64
	// TopPaths is the length of the path lists (default 20).
	TopPaths int
	// BucketCells keeps the status histograms and the result types of
	// the 500s per time bucket as well, so that ResultFor can cut the
	// same rows into other windows without reading them again.
	BucketCells bool
	Logger      *slog.Logger
}

// DefaultOptions returns the defaults of an analysis.
func DefaultOptions() Options {
	return Options{
		Location:        time.UTC,
		Bucket:          5 * time.Minute,
		MemoryBudget:    DefaultMemoryBudget,
		PeakShareFactor: 0.2,
		PeakMinExpected: 20,
		TopPaths:        20,
	}
}

// DefaultMemoryBudget is the default Options.MemoryBudget.
const DefaultMemoryBudget = 64 << 20

// Role codes used inside the aggregator.
const (
	roleNone uint8 = iota
	roleProd
	roleStaging
	numRoles
)

var roleNames = [numRoles]string{"", schema.RoleProduction, schema.RoleStaging}

func roleCode(s string) uint8 {
	switch s {
	case schema.RoleProduction:
		return roleProd
	case schema.RoleStaging:
		return roleStaging
	}
	return roleNone
}

// Status slots of a cell: 0..599 are codes, then "other" and "null".
const (
	statusOther = 600
	statusNull  = 601
	statusSlots = 602
)

// fineKey is the finest grouping the aggregator keeps: window × role ×
// local clock hour × time bucket. Everything reported is a sum over it.
type fineKey struct {
	window int32
	role   uint8
	// hour is the local clock hour, numbered by the UTC hour its start
	// falls in: the repeated hour at the end of daylight saving time is
	// two hours, and a zone's half-hour offset still gives one number
	// per local hour (see localHour).
	hour   int64
	bucket int64 // bucket since the epoch (absolute time)
}

type counts struct {
	req, s4xx, s500, s5xx int64
}

func (c *counts) add(status int32) {
	c.req++
	switch {
	case status == 500:
		c.s500++
		c.s5xx++
	case status >= 500 && status < 600:
		c.s5xx++
	case status >= 400 && status < 500:
		c.s4xx++
	}
}

func (c *counts) merge(o counts) {
	c.req += o.req
	c.s4xx += o.s4xx
	c.s500 += o.s500
	c.s5xx += o.s5xx
}

// fineSet maps fine keys to counts: a slice searched from the end while
// small (most stems are seen under a few keys), indexed by a map beyond.
type fineSet struct {
	keys []fineKey
	vals []counts
	idx  map[fineKey]int
}

const fineSetLinear = 16

func (s *fineSet) at(k fineKey) int {
	if s.idx != nil {
		if i, ok := s.idx[k]; ok {
			return i
		}
	} else {
		for i := len(s.keys) - 1; i >= 0; i-- {
			if s.keys[i] == k {
				return i
			}
		}
	}
	s.keys = append(s.keys, k)
	s.vals = append(s.vals, counts{})
	i := len(s.keys) - 1
	if s.idx != nil {
		s.idx[k] = i
	} else if len(s.keys) > fineSetLinear {
		s.idx = make(map[fineKey]int, 2*len(s.keys))
		for j, kk := range s.keys {
			s.idx[kk] = j
		}
	}
	return i
}

func (s *fineSet) merge(o *fineSet) {
	for i, k := range o.keys {
		j := s.at(k)
		s.vals[j].merge(o.vals[i])
	}
}

type cellKey struct {
	window int32
	role   uint8
}

// bucketKey is a cell's key with the time bucket, when cells are kept by
// bucket (Options.BucketCells); bucket is 0 otherwise.
type bucketKey struct {
	window int32
	role   uint8
	bucket int64
}

type cellAgg struct {
	status [statusSlots]int64
	// Result types of the 500s: edge, response, detailed.
	rt         [3]map[string]int64
	edgeErrors edgeErrors
}

// edgeErrors counts the rows whose x-edge-result-type is Error by what
// the viewer got: a custom error response can turn an origin failure
// into a 2xx, which AWS documents as ambiguous with a viewer that
// disconnected, told apart by x-edge-response-result-type.
type edgeErrors struct {
	// hidden2xx: a 2xx with Error as the response result type too (an
	// error answered with a success status); disconnects: a response
	// result type other than Error (the viewer hung up); unknown2xx: a
	// 2xx without a response result type to tell.
	hidden2xx, disconnects, unknown2xx int64
}

func (e *edgeErrors) add(o edgeErrors) {
	e.hidden2xx += o.hidden2xx
	e.disconnects += o.disconnects
	e.unknown2xx += o.unknown2xx
}

func newCellAgg() *cellAgg {
	return &cellAgg{rt: [3]map[string]int64{{}, {}, {}}}
}

func (c *cellAgg) merge(o *cellAgg) {
	for i, v := range o.status {
		c.status[i] += v
	}
	for k := range o.rt {
		for s, v := range o.rt[k] {
			c.rt[k][s] += v
		}
	}
	c.edgeErrors.add(o.edgeErrors)
}

// agg holds partial aggregates: one per object being read, and the
// merged one.
type agg struct {
	fine    fineSet
	errFine fineSet // error-path rows, when a regular expression classifies
	cells   map[cellKey]*cellAgg
	// With Options.BucketCells, the cells by bucket instead: whole in an
	// object's part (bcells), sparse once merged (sparse).
	bcells map[bucketKey]*cellAgg
	sparse map[bucketKey]*bucketCell

	rows, outOfRange, settling, unknownRole int64
	// unknownIDs counts the rows of unknown role by distribution ID, for
	// the message of an analysis that found none of the given ones.
	unknownIDs   map[string]int64
	minTs, maxTs int64
}

func newAgg() *agg {
	return &agg{cells: map[cellKey]*cellAgg{}, bcells: map[bucketKey]*cellAgg{}, sparse: map[bucketKey]*bucketCell{},
		minTs: math.MaxInt64, maxTs: math.MinInt64}
}

// cell returns the cell of k, adding it when new: by bucket with
// bucketed, else by window and role.
func (g *agg) cell(k bucketKey, bucketed bool) *cellAgg {
	if bucketed {
		c := g.bcells[k]
		if c == nil {
			c = newCellAgg()
			g.bcells[k] = c
		}
		return c
	}
	ck := cellKey{k.window, k.role}
	c := g.cells[ck]
	if c == nil {
		c = newCellAgg()
		g.cells[ck] = c
	}
	return c
}

// Aggregator is an ingest.Sink that aggregates rows for the analysis.
// Rows of an object are kept apart until Commit and dropped on Abort, so
// a re-read object never counts twice. Memory grows with the number of
// windows, clock hours and buckets, never with rows; the per-stem counts
// of the path classification stay within Options.MemoryBudget, spilling
// to files past it (see stems.go).
type Aggregator struct {
	opts     Options
	plan     Plan
	windows  []Window
	wFrom    []int64 // window starts in ms (MinInt64 when unbounded)
	wTo      []int64
	wSettle  []int64
	from, to int64
	bucketMS int64
	idRole   map[string]uint8
	auto     bool

	mu      sync.Mutex
	global  *agg
	objects int64
	aborted int64

	// The tallies last computed. They stand while their objects and
	// aborted counts are the aggregator's: a commit or abort changes one.
	// Classifying the stems again, past a spill a reading of every run,
	// costs as much as the first time.
	tallied *Tallies

	// The merged stem table of the committed objects, the bytes it
	// holds, emptied object tables kept for the next objects, the spill
	// runs written, and the bytes all stem tables hold (merged, kept and
	// in objects being read).
	merged     *stemTable
	mergedHeld int64
	// direct is set once the merged table has outgrown the budget and
	// been spilled: the stems are then past what memory holds, and the
	// tables of the objects committed after are written to the open
	// spill run as they are, without a merge that the partitions'
	// reading does anyway.
	direct bool
	// freeMu guards free alone, so that an object begun takes a kept
	// table without waiting on a commit's merge. Taken within mu, never
	// the other way round.
	freeMu   sync.Mutex
	free     []*stemTable
	runs     []int
	inUse    atomic.Int64
	spillMu  sync.Mutex // guards spill
	spill    *spiller
	released bool

	// Fine keys numbered for the stem tables, which keep a number in
	// place of a key.
	fineMu   sync.Mutex
	fineNums map[fineKey]int32
	fineKeys []fineKey
}

var (
	_ ingest.Sink      = (*Aggregator)(nil)
	_ ingest.Projector = (*Aggregator)(nil)
)

// NewAggregator prepares an aggregation.
func NewAggregator(opts Options) (*Aggregator, error) {
	p, err := NewPlan(opts)
	if err != nil {
		return nil, err
	}
	opts, ws := p.Options, p.Windows
	a := &Aggregator{
		opts:     opts,
		plan:     p,
		windows:  ws,
		from:     math.MinInt64,
		to:       math.MaxInt64,
		bucketMS: opts.Bucket.Milliseconds(),
		idRole:   map[string]uint8{},
		auto:     opts.ErrorPath == nil,
		global:   newAgg(),
		merged:   newStemTable(),
		fineNums: map[fineKey]int32{},
	}
	if !opts.From.IsZero() {
		a.from = opts.From.UnixMilli()
	}
	if !opts.To.IsZero() {
		a.to = opts.To.UnixMilli()
	}
	for _, w := range ws {
		f, t, s := int64(math.MinInt64), int64(math.MaxInt64), int64(math.MinInt64)
		if !w.From.IsZero() {
			f = w.From.UnixMilli()
		}
		if !w.To.IsZero() {
			t = w.To.UnixMilli()
		}
		if !w.SettleUntil.IsZero() {
			s = w.SettleUntil.UnixMilli()
		}
		a.wFrom, a.wTo, a.wSettle = append(a.wFrom, f), append(a.wTo, t), append(a.wSettle, s)
	}
	if opts.Production != "" {
		a.idRole[opts.Production] = roleProd
	}
	if opts.Staging != "" {
		a.idRole[opts.Staging] = roleStaging
	}
	for id, role := range opts.Roles {
		a.idRole[id] = roleCode(role)
	}
	return a, nil
}

// aggColumns are the columns the aggregator reads.
var aggColumns = [...]int{
	schema.Timestamp_, schema.DistributionID, schema.Role, schema.ScStatus, schema.CsURIStem,
	schema.EdgeResultType, schema.EdgeResponseResultType, schema.EdgeDetailedResultType,
}

// Columns implements ingest.Projector: the parser builds only these.
func (a *Aggregator) Columns() []int { return append([]int(nil), aggColumns[:]...) }

// Begin implements ingest.Sink.
func (a *Aggregator) Begin(ctx context.Context, ref ingest.ObjectRef) (ingest.ObjectSink, error) {
	role := roleCode(ref.Role)
	if r, ok := a.idRole[ref.DistributionID]; ok {
		role = r
	}
	o := &objectSink{a: a, ref: ref, objRole: role, part: newAgg(), w: -1, lastCell: bucketKey{window: -1}}
	a.freeMu.Lock()
	if n := len(a.free); n > 0 {
		o.stems, a.free = a.free[n-1], a.free[:n-1]
		o.held = o.stems.bytes()
	}
	a.freeMu.Unlock()
	if o.stems == nil {
		o.stems = newStemTable()
		o.held = o.stems.bytes()
		a.inUse.Add(o.held)
	}
	return o, nil
}

// fineNum returns the number of a fine key, numbering it when new.
func (a *Aggregator) fineNum(k fineKey) int32 {
	a.fineMu.Lock()
	defer a.fineMu.Unlock()
	n, ok := a.fineNums[k]
	if !ok {
		n = int32(len(a.fineKeys))
		a.fineNums[k] = n
		a.fineKeys = append(a.fineKeys, k)
	}
	return n
}

// numberedKeys returns the fine keys by number. The slice only grows:
// the keys of the numbers handed out so far are there.
func (a *Aggregator) numberedKeys() []fineKey {
	a.fineMu.Lock()
	defer a.fineMu.Unlock()
	return a.fineKeys
}

// Close implements ingest.Sink. The aggregator keeps nothing to flush:
// Result may be called before and after Close.
func (a *Aggregator) Close(ctx context.Context) error { return nil }

// Release removes the spill files and drops the per-stem counts; the
// Aggregator takes no more objects, and its Result no longer has paths.
// Call it once the result has been taken.
func (a *Aggregator) Release() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.released = true
	a.tallied = nil
	a.merged, a.runs = newStemTable(), nil
	a.freeMu.Lock()
	a.free = nil
	a.freeMu.Unlock()
	a.mergedHeld = 0
	a.inUse.Store(0)
	a.spillMu.Lock()
	defer a.spillMu.Unlock()
	if a.spill != nil {
		a.spill.close()
		dir := a.spill.dir
		a.spill = nil
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove spilled stems: %w", err)
		}
	}
	return nil
}

// spillTable writes a table to a new spill run, creating the spill
// folder first when needed.
func (a *Aggregator) spillTable(t *stemTable) (int, error) {
	a.spillMu.Lock()
	defer a.spillMu.Unlock()
	s, err := a.spiller()
	if err != nil {
		return 0, err
	}
	return s.spill(t)
}

// spiller returns the spiller, creating the spill folder first when
// needed. The caller holds a.spillMu.
func (a *Aggregator) spiller() (*spiller, error) {
	if a.spill == nil {
		dir, err := os.MkdirTemp(a.opts.SpillDir, "cflens-stems-")
		if err != nil {
			return nil, fmt.Errorf("spill stems: %w", err)
		}
		a.spill = &spiller{dir: dir}
	}
	return a.spill, nil
}

// objectSink aggregates the rows of one object into its own partial
// aggregate, merged into the Aggregator on Commit.
type objectSink struct {
	a       *Aggregator
	ref     ingest.ObjectRef
	objRole uint8
	part    *agg
	stems   *stemTable
	held    int64 // bytes of stems counted in a.inUse
	runs    []int // spill runs of this object
	done    bool

	// Caches carried across batches.
	w                int // current window index
	wLo, wHi, settle int64
	zLo, zHi, zOff   int64 // current zone interval and offset (ms)
	hLo, hHi, hour   int64 // current local hour: its interval and number
	bLo, bHi, bucket int64 // current bucket: its interval and number
	lastKey          fineKey
	lastIdx          int
	lastNum          int32   // the number of lastKey (-1: not asked yet)
	fineNums         []int32 // numbers of the part's fine keys, by index (-1: not asked yet)
	lastErrKey       fineKey // the same for error-path rows (regex)
	lastErrIdx       int
	lastCell         bucketKey
	cell             *cellAgg
	stemSlots        [64]int32 // the last stem of each length (mod 64), plus one
	// The stems of the dictionary of the stem column last seen, by
	// dictionary index (plus one; 0: not looked up yet). A reader hands
	// every batch of a column chunk the same dictionary, so a stem is
	// hashed once per chunk, not once per batch.
	stemDict  arrow.ArrayData
	stemByIdx []int32
	stemDicts int // the stem dictionaries seen
}

// batchCols are the columns of one batch, looked up by name.
type batchCols struct {
	ts      []arrow.Timestamp
	tsArr   arrow.Array
	status  []int32
	statusA arrow.Array
	role    strCol
	dist    strCol
	stem    strCol
	rt      [3]strCol
	hasRole bool
	hasDist bool
	hasStem bool
}

// strCol reads a string column that is either dictionary-encoded or
// plain.
type strCol struct {
	arr   arrow.Array
	nulls bool    // the column has nulls
	offs  []int32 // plain strings: offsets, relative to base
	data  []byte  // plain strings: the bytes from base on
	base  int32
	idx   []int32       // dictionary indices
	dict  *array.String // dictionary values
	plain *array.String // plain strings
	large *array.LargeString
}

func newStrCol(arr arrow.Array) (strCol, bool) {
	c := strCol{arr: arr}
	switch a := arr.(type) {
	case *array.Dictionary:
		ix, ok := a.Indices().(*array.Int32)
		d, ok2 := a.Dictionary().(*array.String)
		if !ok || !ok2 {
			return c, false
		}
		c.idx, c.dict = ix.Int32Values(), d
	case *array.String:
		c.plain = a
		c.offs, c.data = a.ValueOffsets(), a.ValueBytes()
		if len(c.offs) > 0 {
			c.base = c.offs[0]
		}
	case *array.LargeString:
		c.large = a
	default:
		return c, false
	}
	c.nulls = arr.NullN() > 0
	return c, true
}

func (c *strCol) valid(i int) bool { return !c.nulls || c.arr.IsValid(i) }

// bytes returns row i of a plain string column (empty when null),
// pointing into the batch.
func (c *strCol) bytes(i int) []byte {
	if c.nulls && c.arr.IsNull(i) {
		return nil
	}
	return c.data[c.offs[i]-c.base : c.offs[i+1]-c.base]
}

// value returns row i's string, or "" when null. The string points into
// the batch's memory: clone it to keep it.
func (c *strCol) value(i int) string {
	if !c.valid(i) {
		return ""
	}
	switch {
	case c.dict != nil:
		return c.dict.Value(int(c.idx[i]))
	case c.plain != nil:
		return c.plain.Value(i)
	default:
		return c.large.Value(i)
	}
}

func lookupCol(b arrow.RecordBatch, col int) arrow.Array {
	name := schema.Col(col).Name
	for i, f := range b.Schema().Fields() {
		if f.Name == name {
			return b.Column(i)
		}
	}
	return nil
}

var errNoTimestamp = errors.New("batch has no timestamp column")

func (a *Aggregator) bind(b arrow.RecordBatch) (batchCols, error) {
	var c batchCols
	tsArr, ok := lookupCol(b, schema.Timestamp_).(*array.Timestamp)
	if !ok {
		return c, errNoTimestamp
	}
	if u := tsArr.DataType().(*arrow.TimestampType).Unit; u != arrow.Millisecond {
		return c, fmt.Errorf("timestamp column in %s, want milliseconds", u)
	}
	c.tsArr, c.ts = tsArr, tsArr.TimestampValues()
	if st, ok := lookupCol(b, schema.ScStatus).(*array.Int32); ok {
		c.statusA, c.status = st, st.Int32Values()
	}
	strs := []struct {
		col int
		dst *strCol
		has *bool
	}{
		{schema.Role, &c.role, &c.hasRole},
		{schema.DistributionID, &c.dist, &c.hasDist},
		{schema.CsURIStem, &c.stem, &c.hasStem},
		{schema.EdgeResultType, &c.rt[0], nil},
		{schema.EdgeResponseResultType, &c.rt[1], nil},
		{schema.EdgeDetailedResultType, &c.rt[2], nil},
	}
	for _, s := range strs {
		arr := lookupCol(b, s.col)
		if arr == nil {
			continue
		}
		sc, ok := newStrCol(arr)
		if !ok {
			return c, fmt.Errorf("column %s: unexpected type %s", schema.Col(s.col).Name, arr.DataType())
		}
		*s.dst = sc
		if s.has != nil {
			*s.has = true
		}
	}
	return c, nil
}

// Write implements ingest.ObjectSink.
func (o *objectSink) Write(b arrow.RecordBatch) error {
	if o.done {
		return errors.New("write after commit or abort")
	}
	c, err := o.a.bind(b)
	if err != nil {
		return fmt.Errorf("aggregate %s: %w", o.ref.Key, err)
	}
	o.aggregate(&c, int(b.NumRows()))
	return o.account()
}

// account counts the growth of the object's stem table against the
// budget, and spills the table when the budget is exceeded and the table
// holds a fair share of it.
func (o *objectSink) account() error {
	a := o.a
	n := o.stems.bytes()
	total := a.inUse.Add(n - o.held)
	o.held = n
	if total <= a.opts.MemoryBudget || n < a.opts.MemoryBudget/16 {
		return nil
	}
	run, err := a.spillTable(o.stems)
	if err != nil {
		return fmt.Errorf("aggregate %s: %w", o.ref.Key, err)
	}
	o.runs = append(o.runs, run)
	// A table this large is not kept: its storage goes with it.
	o.stems = newStemTable()
	o.stemSlots = [64]int32{}
	o.stemDict = nil
	n = o.stems.bytes()
	a.inUse.Add(n - o.held)
	o.held = n
	return nil
}

// dictRoles maps each dictionary value of a role or distribution column
// to a role code, once per batch.
func dictRoles(c *strCol, f func(string) uint8) []uint8 {
	if c.dict == nil {
		return nil
	}
	out := make([]uint8, c.dict.Len())
	for i := range out {
		if c.dict.IsValid(i) {
			out[i] = f(c.dict.Value(i))
		}
	}
	return out
}

func (o *objectSink) aggregate(c *batchCols, n int) {
	a, p := o.a, o.part
	idRole := func(s string) uint8 { return a.idRole[s] }

	// Per-batch maps from dictionary index to role code.
	var byDist, byRole []uint8
	if c.hasDist && len(a.idRole) > 0 {
		byDist = dictRoles(&c.dist, idRole)
	}
	if c.hasRole {
		byRole = dictRoles(&c.role, roleCode)
	}
	var stemByIdx []int32
	if c.hasStem && c.stem.dict != nil {
		stemByIdx = o.dictStems(c.stem.dict)
	}
	// Per-batch map from the dictionary index of x-edge-result-type to
	// whether it is Error.
	var errDict []bool
	if d := c.rt[0].dict; d != nil {
		errDict = make([]bool, d.Len())
		for j := range errDict {
			errDict[j] = d.IsValid(j) && d.Value(j) == "Error"
		}
	}
	// The response result type of a dictionary by index: empty, Error or
	// other.
	var respDict []uint8
	if d := c.rt[1].dict; d != nil {
		respDict = make([]uint8, d.Len())
		for j := range respDict {
			respDict[j] = respClass(d.Value(j))
		}
	}
	rt, rtByIdx := rtTally{}, false
	if rtByIdx = rt.init(&c.rt); rtByIdx {
		defer rt.flush()
	}
	tsNulls := c.tsArr.NullN() > 0
	bucketed := a.opts.BucketCells
	stNulls := c.statusA != nil && c.statusA.NullN() > 0

	for i := range n {
		if tsNulls && c.tsArr.IsNull(i) {
			p.outOfRange++
			continue
		}
		ms := int64(c.ts[i])
		if ms < a.from || ms >= a.to {
			p.outOfRange++
			continue
		}
		if o.w < 0 || ms < o.wLo || ms >= o.wHi {
			o.findWindow(ms)
		}
		if ms < o.settle {
			p.settling++
			continue
		}
		// Role: distribution ID first (when IDs are known), then the role
		// column, then the object's.
		var role uint8
		if byDist != nil && c.dist.valid(i) {
			role = byDist[c.dist.idx[i]]
		} else if c.hasDist && c.dist.dict == nil && len(a.idRole) > 0 {
			role = a.idRole[c.dist.value(i)]
		}
		if role == roleNone && c.hasRole && c.role.valid(i) {
			if byRole != nil {
				role = byRole[c.role.idx[i]]
			} else {
				role = roleCode(c.role.value(i))
			}
		}
		if role == roleNone {
			role = o.objRole
		}
		if role == roleNone {
			p.unknownRole++
			id := o.ref.DistributionID
			if c.hasDist && c.dist.valid(i) {
				id = c.dist.value(i)
			}
			p.countUnknownID(id)
			continue
		}
		status := int32(-1)
		if c.status != nil && (!stNulls || c.statusA.IsValid(i)) {
			status = c.status[i]
		}
		p.rows++
		p.minTs = min(p.minTs, ms)
		p.maxTs = max(p.maxTs, ms)

		if ms < o.zLo || ms >= o.zHi {
			o.findZone(ms)
		}
		// Hour and bucket change rarely from one row to the next: divide
		// only when the row leaves the current ones.
		if ms < o.hLo || ms >= o.hHi {
			o.hLo = floorDiv(ms+o.zOff, 3600_000)*3600_000 - o.zOff
			o.hHi = o.hLo + 3600_000
			o.hour = floorDiv(o.hLo, 3600_000)
		}
		if ms < o.bLo || ms >= o.bHi {
			o.bucket = floorDiv(ms, a.bucketMS)
			o.bLo = o.bucket * a.bucketMS
			o.bHi = o.bLo + a.bucketMS
		}
		key := fineKey{
			window: int32(o.w),
			role:   role,
			hour:   o.hour,
			bucket: o.bucket,
		}
		if key != o.lastKey || len(p.fine.keys) == 0 {
			o.lastKey, o.lastIdx, o.lastNum = key, p.fine.at(key), -1
		}
		p.fine.vals[o.lastIdx].add(status)

		ck := bucketKey{window: int32(o.w), role: role}
		if bucketed {
			ck.bucket = o.bucket
		}
		if ck != o.lastCell {
			o.lastCell = ck
			o.cell = p.cell(ck, bucketed)
		}
		switch {
		case status < 0:
			o.cell.status[statusNull]++
		case status < 600:
			o.cell.status[status]++
		default:
			o.cell.status[statusOther]++
		}
		// Error results: failures a custom error response hid behind a
		// 2xx, and viewers that disconnected.
		var edgeError bool
		if errDict != nil {
			edgeError = c.rt[0].valid(i) && errDict[c.rt[0].idx[i]]
		} else if c.rt[0].arr != nil {
			edgeError = c.rt[0].value(i) == "Error"
		}
		if edgeError {
			resp := respEmpty
			switch {
			case respDict != nil:
				if c.rt[1].valid(i) {
					resp = respDict[c.rt[1].idx[i]]
				}
			case c.rt[1].arr != nil:
				resp = respClass(c.rt[1].value(i))
			}
			ok2xx := status >= 200 && status < 300
			switch {
			case resp == respOther:
				o.cell.edgeErrors.disconnects++
			case ok2xx && resp == respError:
				o.cell.edgeErrors.hidden2xx++
			case ok2xx:
				o.cell.edgeErrors.unknown2xx++
			}
		}
		if status == 500 && rtByIdx {
			rt.add(o.cell, i)
		} else if status == 500 {
			for k := range c.rt {
				v := "-"
				if c.rt[k].arr != nil {
					if s := c.rt[k].value(i); s != "" {
						v = s
					}
				}
				countRT(o.cell.rt[k], v, 1)
			}
		}

		if !c.hasStem {
			continue
		}
		var si int32
		if stemByIdx != nil && c.stem.valid(i) {
			ix := c.stem.idx[i]
			si = stemByIdx[ix] - 1
			if si < 0 {
				si = o.dictStem(c.stem.dict.Value(int(ix)))
				stemByIdx[ix] = si + 1
			}
		} else if c.stem.plain != nil {
			// The last stem of each length answers most rows without
			// hashing: the paths of one length are mostly one path.
			b := c.stem.bytes(i)
			slot := &o.stemSlots[len(b)%len(o.stemSlots)]
			if si = *slot - 1; si < 0 || o.stems.str(o.stems.stems.at(si)) != string(b) {
				si = o.stem(unsafeString(b))
				*slot = si + 1
			}
		} else {
			si = o.stem(c.stem.value(i))
		}
		if !a.auto {
			o.stems.row(si, 0, status, edgeError, false)
			if o.stems.stems.at(si).good() {
				continue
			}
			if key != o.lastErrKey || len(p.errFine.keys) == 0 {
				o.lastErrKey, o.lastErrIdx = key, p.errFine.at(key)
			}
			p.errFine.vals[o.lastErrIdx].add(status)
			continue
		}
		if o.lastNum < 0 {
			o.lastNum = o.fineNum(o.lastIdx)
		}
		o.stems.row(si, o.lastNum, status, edgeError, true)
	}
}

// fineNum returns the number of the part's fine key of index i.
func (o *objectSink) fineNum(i int) int32 {
	for len(o.fineNums) <= i {
		o.fineNums = append(o.fineNums, -1)
	}
	if o.fineNums[i] < 0 {
		o.fineNums[i] = o.a.fineNum(o.part.fine.keys[i])
	}
	return o.fineNums[i]
}

// dictStems returns the stems of a stem dictionary by index, kept from
// the previous batch when the dictionary is the same. The dictionary's
// data is known by its address, which cannot be reused while stemDict
// holds it.
func (o *objectSink) dictStems(d *array.String) []int32 {
	if data := d.Data(); data != o.stemDict {
		o.stemDict = data
		o.stemDicts++
		o.stemByIdx = slices.Grow(o.stemByIdx[:0], d.Len())[:d.Len()]
		clear(o.stemByIdx)
	}
	return o.stemByIdx
}

// Classes of x-edge-response-result-type values.
const (
	respEmpty uint8 = iota // none logged
	respError
	respOther
)

func respClass(s string) uint8 {
	switch s {
	case "":
		return respEmpty
	case "Error":
		return respError
	}
	return respOther
}

// rtTally counts the result types of a batch's 500s by dictionary index
// while the rows stay in one cell, and adds them to the cell's maps when
// the cell changes or the batch ends: a map update per distinct value,
// not per row.
type rtTally struct {
	cols *[3]strCol
	cell *cellAgg
	// n counts by dictionary index; its last slot counts the rows
	// without a value (null, empty or no column), reported as "-".
	n [3][]int64
}

// init prepares t for the columns, and reports false when a column is
// not dictionary-encoded.
func (t *rtTally) init(cols *[3]strCol) bool {
	t.cols = cols
	for k := range cols {
		switch {
		case cols[k].arr == nil:
			t.n[k] = make([]int64, 1)
		case cols[k].dict != nil:
			t.n[k] = make([]int64, cols[k].dict.Len()+1)
		default:
			return false
		}
	}
	return true
}

func (t *rtTally) add(cell *cellAgg, i int) {
	if cell != t.cell {
		t.flush()
		t.cell = cell
	}
	for k := range t.n {
		j := len(t.n[k]) - 1
		if c := &t.cols[k]; c.arr != nil && c.valid(i) {
			j = int(c.idx[i])
		}
		t.n[k][j]++
	}
}

func (t *rtTally) flush() {
	if t.cell == nil {
		return
	}
	for k, ns := range t.n {
		for j, v := range ns {
			if v == 0 {
				continue
			}
			ns[j] = 0
			name := "-"
			if j < len(ns)-1 {
				if s := t.cols[k].dict.Value(j); s != "" {
					name = s
				}
			}
			countRT(t.cell.rt[k], name, v)
		}
	}
	t.cell = nil
}

// countRT adds n to the count of a result type, which may point into a
// batch: a new key is copied.
func countRT(m map[string]int64, name string, n int64) {
	if _, ok := m[name]; !ok {
		name = strings.Clone(name)
	}
	m[name] += n
}

// stem returns the index of a stem in the object's table, adding it when
// new. s may point into the batch: the table copies it.
func (o *objectSink) stem(s string) int32 {
	h := hashStem(s)
	if i, ok := o.stems.find(h); ok {
		return i
	}
	good := false
	if !o.a.auto {
		good = !o.a.opts.ErrorPath.MatchString(s)
	}
	return o.stems.insert(h, s, good)
}

// dictStem returns the index of a stem of the stem dictionary in the
// object's table, adding it when new. The entries of the object's first
// dictionary are distinct: unless stems went into the table through its
// index before them, they are added without a lookup (see
// stemTable.appendNew).
func (o *objectSink) dictStem(s string) int32 {
	if o.stemDicts > 1 || o.stems.indexed > 0 {
		return o.stem(s)
	}
	good := false
	if !o.a.auto {
		good = !o.a.opts.ErrorPath.MatchString(s)
	}
	return o.stems.appendNew(hashStem(s), s, good)
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (o *objectSink) findWindow(ms int64) {
	a := o.a
	i := sort.Search(len(a.wTo), func(i int) bool { return a.wTo[i] > ms })
	if i == len(a.wTo) {
		i = len(a.wTo) - 1 // cannot happen inside the range
	}
	o.w, o.wLo, o.wHi, o.settle = i, a.wFrom[i], a.wTo[i], a.wSettle[i]
}

func (o *objectSink) findZone(ms int64) {
	t := time.UnixMilli(ms).In(o.a.opts.Location)
	_, off := t.Zone()
	o.zOff = int64(off) * 1000
	o.hLo, o.hHi = 0, 0 // local hours move with the offset
	start, end := t.ZoneBounds()
	o.zLo, o.zHi = math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		o.zLo = start.UnixMilli()
	}
	if !end.IsZero() {
		o.zHi = end.UnixMilli()
	}
}

// Commit implements ingest.ObjectSink: the object's rows become part of
// the analysis.
func (o *objectSink) Commit() error {
	if o.done {
		return errors.New("commit after commit or abort")
	}
	o.done = true
	a := o.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.released {
		return errors.New("commit after release")
	}
	a.objects++
	a.global.merge(o.part)
	o.part = nil
	a.runs = append(a.runs, o.runs...)
	if a.direct {
		err := a.addToOpenRun(o.stems)
		a.keep(o.stems, o.held)
		o.stems = nil
		return err
	}
	a.merged.merge(o.stems)
	n := a.merged.bytes()
	a.inUse.Add(n - a.mergedHeld)
	a.mergedHeld = n
	a.keep(o.stems, o.held)
	o.stems = nil
	if a.inUse.Load() > a.opts.MemoryBudget {
		spills := a.merged.len() > 0
		if err := a.spillMerged(); err != nil {
			return err
		}
		a.direct = spills
	}
	return nil
}

// addToOpenRun writes an object's table to the open spill run. The
// caller holds a.mu.
func (a *Aggregator) addToOpenRun(t *stemTable) error {
	a.spillMu.Lock()
	defer a.spillMu.Unlock()
	s, err := a.spiller()
	if err != nil {
		return err
	}
	opened := s.open != nil
	run, err := s.add(t)
	if err == nil && !opened {
		a.runs = append(a.runs, run)
	}
	return err
}

// keep keeps an object's table, emptied, for a next object, unless it
// holds more than a sixteenth of the budget. The caller holds a.mu.
func (a *Aggregator) keep(t *stemTable, held int64) {
	if held > a.opts.MemoryBudget/16 {
		a.inUse.Add(-held)
		return
	}
	t.reset()
	a.freeMu.Lock()
	a.free = append(a.free, t)
	a.freeMu.Unlock()
}

// spillMerged writes the merged table to a spill run and empties it, its
// storage dropped. The caller holds a.mu.
func (a *Aggregator) spillMerged() error {
	if a.merged.len() > 0 {
		run, err := a.spillTable(a.merged)
		if err != nil {
			return err
		}
		a.runs = append(a.runs, run)
	}
	a.merged = newStemTable()
	n := a.merged.bytes()
	a.inUse.Add(n - a.mergedHeld)
	a.mergedHeld = n
	if a.inUse.Load() > a.opts.MemoryBudget {
		a.freeMu.Lock()
		for _, t := range a.free {
			a.inUse.Add(-t.bytes())
		}
		a.free = nil
		a.freeMu.Unlock()
	}
	return nil
}

// Abort implements ingest.ObjectSink: the object's rows are dropped.
func (o *objectSink) Abort() {
	if o.done {
		return
	}
	o.done = true
	o.part, o.stems, o.stemDict = nil, nil, nil
	o.a.inUse.Add(-o.held)
	o.a.spillMu.Lock()
	for _, run := range o.runs {
		o.a.spill.remove(run)
	}
	o.a.spillMu.Unlock()
	o.a.mu.Lock()
	o.a.aborted++
	o.a.mu.Unlock()
}

func (g *agg) merge(p *agg) {
	g.fine.merge(&p.fine)
	g.errFine.merge(&p.errFine)
	for k, c := range p.cells {
		if gc := g.cells[k]; gc != nil {
			gc.merge(c)
		} else {
			g.cells[k] = c
		}
	}
	for k, c := range p.bcells {
		g.sparse[k] = g.sparse[k].add(c)
	}
	g.rows += p.rows
	g.outOfRange += p.outOfRange
	g.settling += p.settling
	g.unknownRole += p.unknownRole
	for id, n := range p.unknownIDs {
		g.countUnknownIDs(id, n)
	}
	g.minTs = min(g.minTs, p.minTs)
	g.maxTs = max(g.maxTs, p.maxTs)
}

// maxUnknownIDs bounds the distribution IDs counted apart; the rows of
// further IDs are counted under "other".
const maxUnknownIDs = 64

func (g *agg) countUnknownID(id string) {
	if n, ok := g.unknownIDs[id]; ok {
		g.unknownIDs[id] = n + 1
		return
	}
	g.countUnknownIDs(strings.Clone(id), 1)
}

func (g *agg) countUnknownIDs(id string, n int64) {
	if g.unknownIDs == nil {
		g.unknownIDs = map[string]int64{}
	}
	if _, ok := g.unknownIDs[id]; !ok && len(g.unknownIDs) >= maxUnknownIDs {
		id = "other"
	}
	g.unknownIDs[id] += n
}
