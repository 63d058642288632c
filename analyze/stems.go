package analyze

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"github.com/zeebo/xxh3"
)

// Path classification with bounded memory: a grace-hash aggregation.
//
// Each object counts its stems in a stemTable keyed by the stem's 128-bit
// xxh3 hash: requests and 500s per stem, and while the stem has had no
// 2xx or 3xx (a candidate error path) its counts per fine key, the key
// named by its number in the aggregator's fine key table. On Commit the
// object's table is merged into the aggregator's merged table, and
// emptied for the next object (its storage is kept). When the tables
// take more than the memory budget, the merged table is written to a
// spill run, one file holding the stems by hash partition (the hash's
// top byte), and emptied; an object whose own table grows past a
// sixteenth of the budget spills it the same way. From then on the
// distinct stems are more than memory holds, and the table of each
// object committed is written, unmerged, to one open run: merging it
// first would cost a lookup in a table larger than the caches per stem,
// only to save writing again the few stems that objects share. Without
// spills the merged table is classified as it is; otherwise the final
// pass reads one partition of every run at a time, one partition per
// core, so that each core holds about 1/256 of the distinct stems: there
// the stems are merged by hash, a sixteenth of the partition at a time,
// and classified, the error-path rows are added to the error fine set,
// and the top lists are kept exactly (the stem string travels with its
// counts).
//
// Two distinct stems share a 128-bit hash with probability about
// n²/2¹²⁹: 1.5·10⁻²¹ at n = 10⁹ stems, far below any hardware fault rate,
// so stems are identified by their hash alone.

const (
	spillPartitions = 256
	// The records of a table are kept in blocks of blockLen, and its
	// strings in blocks of arenaBlock bytes: a table grows without
	// copying, and holds about what it uses.
	blockShift = 8
	blockLen   = 1 << blockShift
	arenaBlock = 16 << 10
	// The index starts with minSlots slots and doubles past half full.
	minSlots  = 64
	slotBytes = int64(unsafe.Sizeof(uint64(0)))
)

type hash128 [2]uint64

func hashStem(s string) hash128 {
	h := xxh3.HashString128(s)
	return hash128{h.Hi, h.Lo}
}

func (h hash128) partition() int { return int(h[0] >> 56) }

// Values of stemRec.fine besides the head of a chain.
const (
	noFine   = -1 // a candidate error path without fine records
	goodStem = -2 // a good path: its fine records no longer matter
	// inlineBase and below: the stem's only row, kept in place of a
	// chain as inlineBase - (key<<2 | status class). Most error paths of
	// real traffic are scanner probes seen once; they then take no fine
	// record.
	inlineBase = -3
	// maxInlineKey bounds the key numbers kept inline.
	maxInlineKey = 1 << 28
)

// Status classes of an inline row: what counts.add counts besides req.
const (
	classOther = iota
	class4xx
	class500
	class5xx // a 5xx other than 500
)

func statusClass(status int32) int32 {
	switch {
	case status == 500:
		return class500
	case status >= 500 && status < 600:
		return class5xx
	case status >= 400 && status < 500:
		return class4xx
	}
	return classOther
}

// inline returns the fine value of a stem whose only row has key number
// key and status.
func inline(key, status int32) int32 { return inlineBase - (key<<2 | statusClass(status)) }

// inlined returns the row a stem keeps inline, if it does.
func (r *stemRec) inlined() (key int32, c counts, ok bool) {
	if r.fine > inlineBase {
		return 0, c, false
	}
	x := inlineBase - r.fine
	c.req = 1
	switch x & 3 {
	case class4xx:
		c.s4xx = 1
	case class500:
		c.s500, c.s5xx = 1, 1
	case class5xx:
		c.s5xx = 1
	}
	return x >> 2, c, true
}

// materialize turns a row kept inline into the stem's first fine record.
func (t *stemTable) materialize(r *stemRec) {
	if key, c, ok := r.inlined(); ok {
		r.fine = t.fine.add(fineRec{c: c, key: key, next: -1})
	}
}

// stemRec is one stem of a table; its string is in the table's arena.
type stemRec struct {
	h           hash128
	req, s500   int64
	blk, off, n uint32 // the string: arena block, offset, length
	fine        int32  // head of the chain of fine records, noFine, goodStem or an inline row
}

func (r *stemRec) good() bool { return r.fine == goodStem }

// fineRec counts the rows of a stem under one fine key, given by its
// number in the aggregator's fine key table.
type fineRec struct {
	c    counts
	key  int32
	next int32
}

// blocks is an append-only sequence of records in blocks of blockLen.
type blocks[T any] struct {
	b [][]T
	n int32
}

func (s *blocks[T]) at(i int32) *T { return &s.b[i>>blockShift][i&(blockLen-1)] }

func (s *blocks[T]) add(v T) int32 {
	i := s.n
	if int(i>>blockShift) == len(s.b) {
		s.b = append(s.b, make([]T, blockLen))
	}
	*s.at(i) = v
	s.n++
	return i
}

func (s *blocks[T]) bytes() int64 {
	var zero T
	return int64(len(s.b)) * blockLen * int64(unsafe.Sizeof(zero))
}

// arena holds the strings of a table in blocks; a string longer than a
// block gets one of its own.
type arena struct {
	b    [][]byte
	cur  int // the block appended to; len(b) when none yet
	size int64
}

func (a *arena) add(s string) (blk, off uint32) {
	if a.cur >= len(a.b) || len(a.b[a.cur])+len(s) > cap(a.b[a.cur]) {
		if a.cur < len(a.b) {
			a.cur++
		}
		if a.cur == len(a.b) {
			a.b = append(a.b, nil)
		}
		if cap(a.b[a.cur]) < len(s) || a.b[a.cur] == nil {
			a.size -= int64(cap(a.b[a.cur]))
			a.b[a.cur] = make([]byte, 0, max(arenaBlock, len(s)))
			a.size += int64(cap(a.b[a.cur]))
		}
		a.b[a.cur] = a.b[a.cur][:0]
	}
	blk, off = uint32(a.cur), uint32(len(a.b[a.cur]))
	a.b[a.cur] = append(a.b[a.cur], s...)
	return blk, off
}

func (a *arena) reset() {
	a.cur = 0
	if len(a.b) > 0 {
		a.b[0] = a.b[0][:0]
	}
}

// stemTable holds the stems of one object, of the merged objects or of
// a merged partition. It has no pointers but the block slices, so the
// collector does not scan it. Its index is open addressing with linear
// probing: a slot holds the low 32 bits of the stem's hash (where the
// probe starts) and the stem's index plus one (0: empty). The index
// holds the first indexed stems; the stems that appendNew adds after
// them are indexed when a lookup next needs them.
type stemTable struct {
	slots   []uint64
	indexed int32
	stems   blocks[stemRec]
	fine    blocks[fineRec]
	arena   arena
	// touched keeps the slots merge reads ahead from being optimized
	// away.
	touched uint64
}

func newStemTable() *stemTable { return &stemTable{slots: make([]uint64, minSlots)} }

func (t *stemTable) len() int { return int(t.stems.n) }

// bytes is the memory the table holds.
func (t *stemTable) bytes() int64 {
	return int64(cap(t.slots))*slotBytes + t.stems.bytes() + t.fine.bytes() + t.arena.size
}

// reset empties the table, keeping its storage.
func (t *stemTable) reset() {
	if t.indexed > 0 {
		clear(t.slots)
	}
	t.indexed = 0
	t.stems.n, t.fine.n = 0, 0
	t.arena.reset()
}

func (t *stemTable) str(r *stemRec) string {
	b := t.arena.b[r.blk][r.off:]
	return unsafe.String(unsafe.SliceData(b), int(r.n))
}

// find returns the index of the stem of hash h.
func (t *stemTable) find(h hash128) (int32, bool) {
	if t.indexed < t.stems.n {
		t.index()
	}
	mask := uint64(len(t.slots) - 1)
	tag := uint64(uint32(h[1]))
	for p := tag & mask; ; p = (p + 1) & mask {
		s := t.slots[p]
		if s == 0 {
			return 0, false
		}
		if s>>32 == tag {
			i := int32(uint32(s) - 1)
			if t.stems.at(i).h == h {
				return i, true
			}
		}
	}
}

// lookup returns the index of the stem, adding it when new with good as
// its class.
func (t *stemTable) lookup(h hash128, s string, good bool) int32 {
	if i, ok := t.find(h); ok {
		return i
	}
	return t.insert(h, s, good)
}

// insert adds a stem that the table does not hold.
func (t *stemTable) insert(h hash128, s string, good bool) int32 {
	if t.indexed < t.stems.n {
		t.index()
	}
	if 2*(t.stems.n+1) > int32(len(t.slots)) {
		t.grow()
	}
	i := t.appendNew(h, s, good)
	t.place(uint64(uint32(h[1])), i)
	t.indexed = t.stems.n
	return i
}

// appendNew adds a stem without indexing it, for a caller that knows
// the stem is new: the distinct entries of an object's first dictionary.
// Were it not, the table would hold the stem twice, in two records that
// merge adds up like those of two objects: the counts stay exact, only
// the table grows. An object of one row group thus never builds an
// index, whose slots would be written, and read back by the lookups, in
// random order.
func (t *stemTable) appendNew(h hash128, s string, good bool) int32 {
	blk, off := t.arena.add(s)
	r := stemRec{h: h, blk: blk, off: off, n: uint32(len(s)), fine: noFine}
	if good {
		r.fine = goodStem
	}
	return t.stems.add(r)
}

// index places the stems past indexed in the index.
func (t *stemTable) index() {
	for 2*t.stems.n > int32(len(t.slots)) {
		t.grow()
	}
	for ; t.indexed < t.stems.n; t.indexed++ {
		t.place(uint64(uint32(t.stems.at(t.indexed).h[1])), t.indexed)
	}
}

func (t *stemTable) place(tag uint64, i int32) {
	mask := uint64(len(t.slots) - 1)
	p := tag & mask
	for t.slots[p] != 0 {
		p = (p + 1) & mask
	}
	t.slots[p] = tag<<32 | uint64(i+1)
}

// grow doubles the index; the slots' tags give the new positions.
func (t *stemTable) grow() {
	if len(t.slots) >= 1<<31 {
		panic("stem index of 2³¹ slots")
	}
	old := t.slots
	t.slots = make([]uint64, 2*len(old))
	touchPages(t.slots)
	for _, s := range old {
		if s != 0 {
			t.place(s>>32, int32(uint32(s)-1))
		}
	}
}

// touchPages writes the first word of each 4 KiB page of a new slot
// array, in address order. A large new array is memory the system maps
// page by page on first touch, and the rehash that follows writes it in
// two interleaved streams (each slot moves to its index or that plus the
// old length). Touched that way, the pages of the last doubling of a
// 300 k-stem table took 23–42 ms to map on the 2-core VM of the README's
// figures; touched in address order first, 4–6 ms, and the rehash after
// them 3 ms.
func touchPages(s []uint64) {
	const perPage = 4096 / 8
	for i := 0; i < len(s); i += perPage {
		s[i] = 0
	}
}

// A stem's fine records are chained by descending key number. Keys are
// numbered as rows first bring them, so a stem's new key mostly goes at
// the head, and merging one chain into another walks each once.

// fineCursor is a position in a chain being merged into: the record
// before it (-1: the head) and the record at it.
type fineCursor struct {
	prev, at int32
	last     int32 // the key merged last
}

func (r *stemRec) cursor() fineCursor { return fineCursor{prev: -1, at: r.fine, last: math.MaxInt32} }

// addFine adds c to the fine record of key in stem r's chain, searching
// from cur when the keys come in descending order, else from the head.
func (t *stemTable) addFine(r *stemRec, cur *fineCursor, key int32, c counts) {
	if r.fine <= inlineBase {
		t.materialize(r)
		*cur = r.cursor()
	}
	if key > cur.last {
		*cur = r.cursor()
	}
	cur.last = key
	for cur.at >= 0 {
		f := t.fine.at(cur.at)
		if f.key == key {
			f.c.merge(c)
			return
		}
		if f.key < key {
			break
		}
		cur.prev, cur.at = cur.at, f.next
	}
	n := t.fine.add(fineRec{c: c, key: key, next: cur.at})
	if cur.prev < 0 {
		r.fine = n
	} else {
		t.fine.at(cur.prev).next = n
	}
	cur.prev = n
}

// row counts one row of stem i under fine key number key. With auto, a
// stem's rows are kept by fine key until it gets a 2xx or 3xx; a 2xx
// logged as an Error result (edgeError) is a custom error page, not the
// path's content, and does not count.
func (t *stemTable) row(i, key int32, status int32, edgeError, auto bool) {
	st := t.stems.at(i)
	st.req++
	if status == 500 {
		st.s500++
	}
	if !auto || st.good() {
		return
	}
	if status >= 200 && status < 400 && !(edgeError && status < 300) {
		st.fine = goodStem
		return
	}
	if st.fine == noFine && key < maxInlineKey {
		st.fine = inline(key, status)
		return
	}
	if st.fine <= inlineBase {
		t.materialize(st)
	}
	if st.fine >= 0 {
		if f := t.fine.at(st.fine); f.key == key {
			f.c.add(status)
			return
		}
	}
	var c counts
	c.add(status)
	cur := st.cursor()
	t.addFine(st, &cur, key, c)
}

// mergeStem adds a stem's counts into t and returns its index in t, and
// whether the stem's fine records are to be added (with addFine).
func (t *stemTable) mergeStem(h hash128, s string, good bool, req, s500 int64) (int32, bool) {
	i := t.lookup(h, s, good)
	st := t.stems.at(i)
	st.req += req
	st.s500 += s500
	if st.good() {
		return i, false
	}
	if good {
		st.fine = goodStem
		return i, false
	}
	return i, true
}

// mergeAhead is how many stems merge touches the index slots of before
// it merges them.
const mergeAhead = 16

// merge adds the stems of o. A table of many stems is out of the caches,
// and a lookup waits for memory: merge reads the home slots of the next
// stems first, loads independent of each other that the processor
// overlaps, so that their lookups find the slots in the cache.
func (t *stemTable) merge(o *stemTable) {
	for i := range o.stems.n {
		if i%mergeAhead == 0 {
			mask := uint64(len(t.slots) - 1)
			var touch uint64
			for j := i; j < min(i+mergeAhead, o.stems.n); j++ {
				tag := uint64(uint32(o.stems.at(j).h[1]))
				s := t.slots[tag&mask]
				touch += s
				if s != 0 && s>>32 == tag {
					// The stem is likely there: read its record too.
					touch += t.stems.at(int32(uint32(s) - 1)).h[0]
				}
			}
			t.touched += touch
		}
		r := o.stems.at(i)
		k, more := t.mergeStem(r.h, o.str(r), r.good(), r.req, r.s500)
		if !more {
			continue
		}
		st := t.stems.at(k)
		if st.fine == noFine && r.fine <= inlineBase {
			st.fine = r.fine // a stem new here, seen once
			continue
		}
		cur := st.cursor()
		if key, c, ok := r.inlined(); ok {
			t.addFine(st, &cur, key, c)
			continue
		}
		for j := r.fine; j >= 0; {
			f := o.fine.at(j)
			t.addFine(st, &cur, f.key, f.c)
			j = f.next
		}
	}
}

// A spill run is one file: the stems of one or more tables by hash
// partition, in chunks of whole records, the chunks of each partition
// listed in memory. A record is
//
//	hash (16 bytes) · flags (1 byte) · uvarint len · stem · uvarint req ·
//	uvarint s500 · then, with spillInline, uvarint (key number<<2 | status
//	class) of the only row; else uvarint fine records · per record:
//	uvarint key number, uvarint req, 4xx, 500, 5xx
//
// Most stems spilled are scanner probes seen once: their record is the
// hash, the stem and four bytes. A stem may have records in several
// runs, and in several chunks of one run: reading a partition back
// merges them.
type spiller struct {
	dir    string
	runs   int                             // spill runs written
	chunks [][spillPartitions][]spillChunk // by run: the chunks of each partition
	recs   int64                           // stems written
	size   int64                           // bytes written
	part   [spillPartitions][]byte         // scratch of spill
	// open is the run that the tables of committed objects are added to
	// once the merged table has been spilled; it is created by the first
	// add, and err is the error that damaged it.
	open *runWriter
	err  error
}

// spillChunk is where a chunk of a partition's records is in its run.
type spillChunk struct{ off, n int64 }

func (s *spiller) file(run int) string {
	return filepath.Join(s.dir, fmt.Sprintf("r%06d", run))
}

// spillFlush is how much of a partition's records a run writer gathers
// before it writes them.
const spillFlush = 16 << 10

// runWriter writes a run. Each table added is read once, in its order,
// each record going to its partition's scratch; a full scratch is
// appended to the file as one chunk, so the file is written from start
// to end. (Reading a table partition by partition went through it 256
// times, a record in 256 each time, and waited on memory for nearly
// every record: three quarters of the time of spilling 5 M stems.)
type runWriter struct {
	s    *spiller
	run  int
	f    *os.File
	at   int64
	part *[spillPartitions][]byte // records of each partition not yet written
}

// create starts run s.runs, gathering its records in part.
func (s *spiller) create(part *[spillPartitions][]byte) (*runWriter, error) {
	f, err := os.OpenFile(s.file(s.runs), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spill stems: %w", err)
	}
	// Records left in the scratch by a write that failed belong to no
	// run.
	for p := range part {
		part[p] = part[p][:0]
	}
	w := &runWriter{s: s, run: s.runs, f: f, part: part}
	s.runs++
	s.chunks = append(s.chunks, [spillPartitions][]spillChunk{})
	return w, nil
}

// write appends the gathered records of partition p to the file.
func (w *runWriter) write(p int) error {
	buf := w.part[p]
	if len(buf) == 0 {
		return nil
	}
	if _, err := w.f.Write(buf); err != nil {
		return fmt.Errorf("spill stems: %w", err)
	}
	n := int64(len(buf))
	cs := &w.s.chunks[w.run][p]
	*cs = append(*cs, spillChunk{off: w.at, n: n})
	w.at += n
	w.s.size += n
	w.part[p] = buf[:0]
	return nil
}

// add writes the table's stems; within a partition they keep their
// order in the table. Some may stay gathered until flush.
func (w *runWriter) add(t *stemTable) error {
	for i := range t.stems.n {
		r := t.stems.at(i)
		p := r.h.partition()
		w.part[p] = appendStem(w.part[p], t, r)
		if len(w.part[p]) >= spillFlush {
			if err := w.write(p); err != nil {
				return err
			}
		}
	}
	w.s.recs += int64(t.len())
	return nil
}

// flush writes every record gathered.
func (w *runWriter) flush() error {
	for p := range spillPartitions {
		if err := w.write(p); err != nil {
			return err
		}
	}
	return nil
}

// spill writes the table's stems as run s.runs and returns its number.
func (s *spiller) spill(t *stemTable) (int, error) {
	w, err := s.create(&s.part)
	if err != nil {
		return 0, err
	}
	err = w.add(t)
	if err == nil {
		err = w.flush()
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("spill stems: %w", cerr)
	}
	return w.run, err
}

// add writes the table's stems to the open run, creating it when there
// is none, and returns its number. Once creating or writing it has
// failed, stems are missing, and every add and seal returns that error.
func (s *spiller) add(t *stemTable) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.open == nil {
		w, err := s.create(new([spillPartitions][]byte))
		if err != nil {
			s.err = err
			return 0, err
		}
		s.open = w
	}
	if err := s.open.add(t); err != nil {
		s.err = err
		return 0, err
	}
	return s.open.run, nil
}

// seal writes what the open run has gathered, so that a reader finds
// every stem added; more may be added after it.
func (s *spiller) seal() error {
	if s.err != nil || s.open == nil {
		return s.err
	}
	if err := s.open.flush(); err != nil {
		s.err = err
	}
	return s.err
}

// close closes the open run's file.
func (s *spiller) close() {
	if s.open != nil {
		s.open.f.Close()
		s.open = nil
	}
}

// Flags of a spill record.
const (
	spillGood   = 1 << 0 // a good path
	spillInline = 1 << 1 // the stem's only row, kept inline
)

func appendStem(buf []byte, t *stemTable, r *stemRec) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, r.h[0])
	buf = binary.LittleEndian.AppendUint64(buf, r.h[1])
	var flags byte
	if r.good() {
		flags |= spillGood
	}
	if r.fine <= inlineBase {
		flags |= spillInline
	}
	buf = append(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(r.n))
	buf = append(buf, t.str(r)...)
	buf = binary.AppendUvarint(buf, uint64(r.req))
	buf = binary.AppendUvarint(buf, uint64(r.s500))
	if flags&spillInline != 0 {
		return binary.AppendUvarint(buf, uint64(inlineBase-r.fine))
	}
	n := 0
	for j := r.fine; j >= 0; j = t.fine.at(j).next {
		n++
	}
	buf = binary.AppendUvarint(buf, uint64(n))
	for j := r.fine; j >= 0; {
		f := t.fine.at(j)
		buf = binary.AppendUvarint(buf, uint64(f.key))
		buf = binary.AppendUvarint(buf, uint64(f.c.req))
		buf = binary.AppendUvarint(buf, uint64(f.c.s4xx))
		buf = binary.AppendUvarint(buf, uint64(f.c.s500))
		buf = binary.AppendUvarint(buf, uint64(f.c.s5xx))
		j = f.next
	}
	return buf
}

// remove deletes the file of a run.
func (s *spiller) remove(run int) {
	os.Remove(s.file(run))
	s.chunks[run] = [spillPartitions][]spillChunk{}
}

// runReader reads the partitions of spill runs back. A partition of
// many stems makes a table larger than the processor's caches, where
// nearly every lookup of a stem waits on memory; read gathers the
// partition's records from every run by the hash's next bits, so that
// merging one sub-partition at a time keeps a table of a sixteenth of
// the partition's stems. (Merging the partitions of the 50 M line
// scaling corpus, 150 k stems each, spent 2.4 of its 5.3 CPU seconds in
// lookups; listing the records by offset instead of copying them moved
// the wait to reading the records.)
type runReader struct {
	s      *spiller
	chunks [][spillPartitions][]spillChunk // the spiller's, when the reader was made
	files  map[int]*os.File                // opened by open
	forked bool                            // files are another reader's
	buf    []byte                          // a chunk read
	subs   [subPartitions][]byte           // the records of the partition read, by sub-partition (all in the first when not split)
	whole  []chunkOrigin                   // not split: where each chunk in subs[0] was read from
	fine   []fineRec
}

// chunkOrigin is where a chunk of records gathered whole was read from:
// its file and offset, for the error of a damaged record in it.
type chunkOrigin struct {
	at   int // where the chunk starts in subs[0]
	file string
	off  int64
}

const (
	subPartitionBits = 4
	subPartitions    = 1 << subPartitionBits
)

// subPartition is where a hash goes within its partition: the bits
// after the partition's.
func (h hash128) subPartition() int { return int(h[0]>>(56-subPartitionBits)) & (subPartitions - 1) }

// reader returns a reader of the runs written so far; runs written
// after it are not its to read, and may be written while it reads. The
// open run must not be added to while it reads.
func (s *spiller) reader() *runReader {
	return &runReader{s: s, chunks: s.chunks, files: map[int]*os.File{}}
}

// open opens the files of the runs, which read and readers forked from
// rr read.
func (rr *runReader) open(runs []int) error {
	for _, run := range runs {
		if rr.files[run] != nil {
			continue
		}
		f, err := os.Open(rr.s.file(run))
		if err != nil {
			return fmt.Errorf("read spilled stems: %w", err)
		}
		rr.files[run] = f
	}
	return nil
}

// fork returns a reader of the same runs for another goroutine. It
// shares the files rr opened (reading at an offset is safe on a file
// from many goroutines), which only rr closes.
func (rr *runReader) fork() *runReader {
	return &runReader{s: rr.s, chunks: rr.chunks, files: rr.files, forked: true}
}

func (rr *runReader) close() {
	if rr.forked {
		return
	}
	for _, f := range rr.files {
		f.Close()
	}
}

var errSpillRecord = errors.New("damaged record")

// subSplitBytes is the size of records past which read splits a
// partition. A partition of fewer is merged whole, its table within the
// caches: copying its records apart one by one would cost more than it
// saves (`go test ./analyze -bench Spill`, 1.2 k stems a partition: 97–102
// ns a stem read back split, 66–70 whole).
var subSplitBytes int64 = 1 << 20

// read gathers partition p of the runs, opened, by sub-partition, for
// merge.
func (rr *runReader) read(p int, runs []int) error {
	for s := range rr.subs {
		rr.subs[s] = rr.subs[s][:0]
	}
	rr.whole = rr.whole[:0]
	var size int64
	for _, run := range runs {
		for _, c := range rr.chunks[run][p] {
			size += c.n
		}
	}
	split := size > subSplitBytes
	for _, run := range runs {
		chunks := rr.chunks[run][p]
		if len(chunks) == 0 {
			continue
		}
		f := rr.files[run]
		if f == nil {
			return fmt.Errorf("read spilled stems: run %d not opened", run)
		}
		for _, c := range chunks {
			var buf []byte
			if split {
				if int64(cap(rr.buf)) < c.n {
					rr.buf = make([]byte, c.n)
				}
				buf = rr.buf[:c.n]
			} else {
				at := len(rr.subs[0])
				rr.subs[0] = slices.Grow(rr.subs[0], int(c.n))[:at+int(c.n)]
				buf = rr.subs[0][at:]
				rr.whole = append(rr.whole, chunkOrigin{at: at, file: f.Name(), off: c.off})
			}
			if _, err := f.ReadAt(buf, c.off); err != nil && !(err == io.EOF && len(buf) == int(c.n)) {
				return fmt.Errorf("read spilled stems %s: %w", f.Name(), err)
			}
			if !split {
				continue
			}
			for off := 0; off < len(buf); {
				r, rest, err := decodeRecord(buf[off:], rr.fine)
				rr.fine = r.fine
				if err != nil {
					return fmt.Errorf("read spilled stems %s at %d: %w", f.Name(), c.off+int64(off), err)
				}
				n, sub := len(buf)-off-len(rest), r.h.subPartition()
				rr.subs[sub] = append(rr.subs[sub], buf[off:off+n]...)
				off += n
			}
		}
	}
	return nil
}

// merge merges the records of sub-partition sub of the partition read
// into t.
func (rr *runReader) merge(t *stemTable, sub int) error {
	all := rr.subs[sub]
	for buf := all; len(buf) > 0; {
		rest, err := rr.record(t, buf)
		if err != nil {
			return rr.damaged(sub, len(all)-len(buf), err)
		}
		buf = rest
	}
	return nil
}

// damaged returns the error of a damaged record at offset at of
// sub-partition sub, naming its file and offset when the partition was
// gathered whole (split, read has checked every record, naming them).
func (rr *runReader) damaged(sub, at int, err error) error {
	if sub != 0 || len(rr.whole) == 0 {
		return fmt.Errorf("read spilled stems: %w", err)
	}
	// The last chunk starting at or before the record.
	i, _ := slices.BinarySearchFunc(rr.whole, at+1, func(c chunkOrigin, at int) int { return cmp.Compare(c.at, at) })
	c := rr.whole[max(i-1, 0)]
	return fmt.Errorf("read spilled stems %s at %d: %w", c.file, c.off+int64(at-c.at), err)
}

// load merges partition p of the runs into t.
func (rr *runReader) load(t *stemTable, p int, runs ...int) error {
	if err := rr.open(runs); err != nil {
		return err
	}
	if err := rr.read(p, runs); err != nil {
		return err
	}
	for sub := range subPartitions {
		if err := rr.merge(t, sub); err != nil {
			return err
		}
	}
	return nil
}

// spillRecord is a spill record decoded; str and fine alias the buffers
// it was decoded from and into.
type spillRecord struct {
	h         hash128
	flags     byte
	str       []byte
	req, s500 int64
	inl       int32     // with spillInline: the only row, as stemRec.fine keeps it
	fine      []fineRec // without: the fine records, next unset
}

// decodeRecord decodes the record at the start of buf, its fine records
// into fine's storage, and returns the rest of buf.
func decodeRecord(buf []byte, fine []fineRec) (spillRecord, []byte, error) {
	var r spillRecord
	if len(buf) < 17 {
		return r, nil, errSpillRecord
	}
	r.h = hash128{binary.LittleEndian.Uint64(buf), binary.LittleEndian.Uint64(buf[8:])}
	r.flags = buf[16]
	d := spillDecoder{buf: buf[17:]}
	l := d.uvarint()
	if d.bad || uint64(len(d.buf)) < l {
		return r, nil, errSpillRecord
	}
	r.str = d.buf[:l]
	d.buf = d.buf[l:]
	r.req, r.s500 = int64(d.uvarint()), int64(d.uvarint())
	r.fine = fine[:0]
	if r.flags&spillInline != 0 {
		inl := d.uvarint()
		if inl > math.MaxInt32+inlineBase {
			return r, nil, errSpillRecord
		}
		r.inl = inlineBase - int32(inl)
	} else {
		nf := d.uvarint()
		if d.bad || nf > uint64(len(d.buf)) {
			return r, nil, errSpillRecord
		}
		for range nf {
			k := d.uvarint()
			c := counts{int64(d.uvarint()), int64(d.uvarint()), int64(d.uvarint()), int64(d.uvarint())}
			r.fine = append(r.fine, fineRec{c: c, key: int32(k)})
		}
	}
	if d.bad {
		return r, nil, errSpillRecord
	}
	return r, d.buf, nil
}

// record merges the record at the start of buf into t and returns the
// rest.
func (rr *runReader) record(t *stemTable, buf []byte) ([]byte, error) {
	r, rest, err := decodeRecord(buf, rr.fine)
	rr.fine = r.fine
	if err != nil {
		return nil, err
	}
	k, more := t.mergeStem(r.h, unsafe.String(unsafe.SliceData(r.str), len(r.str)), r.flags&spillGood != 0, r.req, r.s500)
	if !more {
		return rest, nil
	}
	st := t.stems.at(k)
	if r.flags&spillInline != 0 {
		if st.fine == noFine {
			st.fine = r.inl // a stem new here, seen once
			return rest, nil
		}
		key, c, _ := (&stemRec{fine: r.inl}).inlined()
		cur := st.cursor()
		t.addFine(st, &cur, key, c)
		return rest, nil
	}
	cur := st.cursor()
	for _, f := range r.fine {
		t.addFine(st, &cur, f.key, f.c)
	}
	return rest, nil
}

// spillDecoder reads the uvarints of a spill record; bad records that
// one was damaged.
type spillDecoder struct {
	buf []byte
	bad bool
}

func (d *spillDecoder) uvarint() uint64 {
	if b := d.buf; len(b) > 0 && b[0] < 0x80 {
		d.buf = b[1:]
		return uint64(b[0])
	}
	v, k := binary.Uvarint(d.buf)
	if k <= 0 {
		d.bad = true
		return 0
	}
	d.buf = d.buf[k:]
	return v
}
