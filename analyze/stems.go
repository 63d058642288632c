package analyze

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/zeebo/xxh3"
)

// Path classification with bounded memory: a grace-hash aggregation.
//
// Each object counts its stems in a stemTable keyed by the stem's 128-bit
// xxh3 hash: requests and 500s per stem, and while the stem has had no
// 2xx or 3xx (a candidate error path) its counts per fine key. A committed
// object's table is kept as it is (no merge per commit). When the tables
// held take more than the memory budget, they are written to spill files,
// one per hash partition (the hash's top byte), and dropped. The final
// pass reads one partition at a time, so it holds about 1/256 of the
// distinct stems: there the stems are merged by hash and classified, the
// error-path rows are added to the error fine set, and the top lists are
// kept exactly (the stem string travels with its counts).
//
// Two distinct stems share a 128-bit hash with probability about
// n²/2¹²⁹: 1.5·10⁻²¹ at n = 10⁹ stems, far below any hardware fault rate,
// so stems are identified by their hash alone.

const (
	spillPartitions = 256
	// Bytes counted per stem record and fine record allocated, and per
	// map entry (the slots of a map that doubles when it grows).
	stemRecBytes  = int64(unsafe.Sizeof(stemRec{}))
	fineRecBytes  = int64(unsafe.Sizeof(fineRec{}))
	mapEntryBytes = 64
)

type hash128 [2]uint64

func hashStem(s string) hash128 {
	h := xxh3.HashString128(s)
	return hash128{h.Hi, h.Lo}
}

func (h hash128) partition() int { return int(h[0] >> 56) }

// stemRec is one stem of a table; its string is in the table's arena.
type stemRec struct {
	h         hash128
	off, n    uint32
	req, s500 int64
	fine      int32 // head of the chain of fine records; -1 when none
	good      bool
}

type fineRec struct {
	key  fineKey
	c    counts
	next int32
}

// stemTable holds the stems of one object (or a merged partition). It
// has no pointers but the slices, so the collector does not scan it.
type stemTable struct {
	idx   map[hash128]int32
	stems []stemRec
	fine  []fineRec
	arena []byte
}

func newStemTable() *stemTable { return &stemTable{idx: map[hash128]int32{}} }

// bytes estimates the memory the table holds: what its slices have
// allocated, and its map.
func (t *stemTable) bytes() int64 {
	return int64(cap(t.stems))*stemRecBytes + int64(cap(t.fine))*fineRecBytes + int64(cap(t.arena)) + int64(len(t.idx))*mapEntryBytes
}

func (t *stemTable) str(r *stemRec) string {
	return unsafe.String(unsafe.SliceData(t.arena[r.off:]), int(r.n))
}

// lookup returns the index of the stem, adding it when new with good as
// its class.
func (t *stemTable) lookup(h hash128, s string, good bool) int32 {
	if i, ok := t.idx[h]; ok {
		return i
	}
	if len(t.arena)+len(s) > 1<<32-1 {
		// Cannot happen under any sane budget: the table spills first.
		panic("stem arena over 4 GiB")
	}
	off := uint32(len(t.arena))
	t.arena = append(t.arena, s...)
	i := int32(len(t.stems))
	t.stems = append(t.stems, stemRec{h: h, off: off, n: uint32(len(s)), fine: -1, good: good})
	t.idx[h] = i
	return i
}

// row counts one row of stem i. With auto, a stem's rows are kept by fine
// key until it gets a 2xx or 3xx.
func (t *stemTable) row(i int32, key fineKey, status int32, auto bool) {
	st := &t.stems[i]
	st.req++
	if status == 500 {
		st.s500++
	}
	if !auto || st.good {
		return
	}
	if status >= 200 && status < 400 {
		st.good, st.fine = true, -1
		return
	}
	for j := st.fine; j >= 0; j = t.fine[j].next {
		if t.fine[j].key == key {
			t.fine[j].c.add(status)
			return
		}
	}
	t.fine = append(t.fine, fineRec{key: key, next: st.fine})
	st.fine = int32(len(t.fine) - 1)
	t.fine[st.fine].c.add(status)
}

// mergeRec adds a stem's counts and fine records (given by next) into t.
func (t *stemTable) mergeRec(h hash128, s string, good bool, req, s500 int64, fine func(yield func(fineKey, counts))) {
	i := t.lookup(h, s, good)
	st := &t.stems[i]
	st.req += req
	st.s500 += s500
	if st.good {
		return
	}
	if good {
		st.good, st.fine = true, -1
		return
	}
	fine(func(k fineKey, c counts) {
		st := &t.stems[i]
		for j := st.fine; j >= 0; j = t.fine[j].next {
			if t.fine[j].key == k {
				t.fine[j].c.merge(c)
				return
			}
		}
		t.fine = append(t.fine, fineRec{key: k, c: c, next: st.fine})
		st.fine = int32(len(t.fine) - 1)
	})
}

// byPartition returns the indices of t's stems by hash partition.
func (t *stemTable) byPartition() [][]int32 {
	out := make([][]int32, spillPartitions)
	for i := range t.stems {
		p := t.stems[i].h.partition()
		out[p] = append(out[p], int32(i))
	}
	return out
}

// merge adds the stems of o given by their indices.
func (t *stemTable) merge(o *stemTable, idx []int32) {
	for _, i := range idx {
		r := &o.stems[i]
		t.mergeRec(r.h, o.str(r), r.good, r.req, r.s500, func(yield func(fineKey, counts)) {
			for j := r.fine; j >= 0; j = o.fine[j].next {
				yield(o.fine[j].key, o.fine[j].c)
			}
		})
	}
}

// spill files: records of one partition of one table written at once.
//
//	hash (16 bytes) · uvarint len · stem · good (1 byte) · uvarint req ·
//	uvarint s500 · uvarint fine records · per record: varint window,
//	role (1 byte), varint hour, varint bucket, uvarint req, 4xx, 500, 5xx
type spiller struct {
	dir  string
	runs int   // spill runs written
	recs int64 // stems written
	size int64 // bytes written
}

func (s *spiller) file(p, run int) string {
	return filepath.Join(s.dir, fmt.Sprintf("p%03d-r%06d", p, run))
}

// spill writes the tables' stems by partition as run s.runs and returns
// its number.
func (s *spiller) spill(tables []*stemTable) (int, error) {
	run := s.runs
	s.runs++
	type ref struct{ t, i int32 }
	byPart := make([][]ref, spillPartitions)
	for ti, t := range tables {
		for i := range t.stems {
			p := t.stems[i].h.partition()
			byPart[p] = append(byPart[p], ref{int32(ti), int32(i)})
		}
	}
	var bw *bufio.Writer
	var buf []byte
	for p, recs := range byPart {
		if len(recs) == 0 {
			continue
		}
		f, err := os.OpenFile(s.file(p, run), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return 0, fmt.Errorf("spill stems: %w", err)
		}
		if bw == nil {
			bw = bufio.NewWriterSize(f, 64<<10)
		} else {
			bw.Reset(f)
		}
		for _, ri := range recs {
			t := tables[ri.t]
			r := &t.stems[ri.i]
			buf = binary.LittleEndian.AppendUint64(buf[:0], r.h[0])
			buf = binary.LittleEndian.AppendUint64(buf, r.h[1])
			buf = binary.AppendUvarint(buf, uint64(r.n))
			buf = append(buf, t.str(r)...)
			g := byte(0)
			if r.good {
				g = 1
			}
			buf = append(buf, g)
			buf = binary.AppendUvarint(buf, uint64(r.req))
			buf = binary.AppendUvarint(buf, uint64(r.s500))
			n := 0
			for j := r.fine; j >= 0; j = t.fine[j].next {
				n++
			}
			buf = binary.AppendUvarint(buf, uint64(n))
			for j := r.fine; j >= 0; j = t.fine[j].next {
				fr := &t.fine[j]
				buf = binary.AppendVarint(buf, int64(fr.key.window))
				buf = append(buf, fr.key.role)
				buf = binary.AppendVarint(buf, fr.key.hour)
				buf = binary.AppendVarint(buf, fr.key.bucket)
				for _, v := range [4]int64{fr.c.req, fr.c.s4xx, fr.c.s500, fr.c.s5xx} {
					buf = binary.AppendUvarint(buf, uint64(v))
				}
			}
			s.size += int64(len(buf))
			if _, err := bw.Write(buf); err != nil {
				f.Close()
				return 0, fmt.Errorf("spill stems: %w", err)
			}
		}
		s.recs += int64(len(recs))
		if err := bw.Flush(); err != nil {
			f.Close()
			return 0, fmt.Errorf("spill stems: %w", err)
		}
		if err := f.Close(); err != nil {
			return 0, fmt.Errorf("spill stems: %w", err)
		}
	}
	return run, nil
}

// remove deletes the files of a run.
func (s *spiller) remove(run int) {
	for p := range spillPartitions {
		os.Remove(s.file(p, run))
	}
}

// load merges partition p of a run into t.
func (s *spiller) load(t *stemTable, p, run int) error {
	f, err := os.Open(s.file(p, run))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read spilled stems: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var fine []fineRec
	var str []byte
	for {
		var hb [16]byte
		if _, err := io.ReadFull(br, hb[:]); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read spilled stems %s: %w", f.Name(), err)
		}
		h := hash128{binary.LittleEndian.Uint64(hb[:8]), binary.LittleEndian.Uint64(hb[8:])}
		var vals [4]uint64
		rd := func(n int) error {
			for i := range n {
				v, err := binary.ReadUvarint(br)
				if err != nil {
					return err
				}
				vals[i] = v
			}
			return nil
		}
		if err := rd(1); err != nil {
			return fmt.Errorf("read spilled stems %s: %w", f.Name(), err)
		}
		if uint64(cap(str)) < vals[0] {
			str = make([]byte, vals[0])
		}
		str = str[:vals[0]]
		if _, err := io.ReadFull(br, str); err != nil {
			return fmt.Errorf("read spilled stems %s: %w", f.Name(), err)
		}
		g, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("read spilled stems %s: %w", f.Name(), err)
		}
		if err := rd(3); err != nil {
			return fmt.Errorf("read spilled stems %s: %w", f.Name(), err)
		}
		req, s500, nf := int64(vals[0]), int64(vals[1]), int(vals[2])
		fine = fine[:0]
		for range nf {
			var fr fineRec
			w, err1 := binary.ReadVarint(br)
			role, err2 := br.ReadByte()
			hour, err3 := binary.ReadVarint(br)
			bucket, err4 := binary.ReadVarint(br)
			err5 := rd(4)
			if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
				return fmt.Errorf("read spilled stems %s: %w", f.Name(), err)
			}
			fr.key = fineKey{window: int32(w), role: role, hour: hour, bucket: bucket}
			fr.c = counts{int64(vals[0]), int64(vals[1]), int64(vals[2]), int64(vals[3])}
			fine = append(fine, fr)
		}
		t.mergeRec(h, unsafe.String(unsafe.SliceData(str), len(str)), g == 1, req, s500, func(yield func(fineKey, counts)) {
			for _, fr := range fine {
				yield(fr.key, fr.c)
			}
		})
	}
}
