package analyze

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fineOf lists a stem's rows by key number, inline or chained.
func fineOf(t *stemTable, i int32) map[int32]counts {
	r := t.stems.at(i)
	out := map[int32]counts{}
	if key, c, ok := r.inlined(); ok {
		out[key] = c
	}
	for j := r.fine; j >= 0; j = t.fine.at(j).next {
		f := t.fine.at(j)
		c := out[f.key]
		c.merge(f.c)
		out[f.key] = c
	}
	return out
}

// TestStemInlineRow checks a stem's only row kept inline: each status
// class, the move to a chain at a second row, merging into a table that
// lacks the stem (still inline, no fine record) or has it, and a spill
// record read back.
func TestStemInlineRow(t *testing.T) {
	for _, status := range []int32{404, 500, 503, 302, -1} {
		tb := newStemTable()
		h := hashStem("/probe")
		i := tb.insert(h, "/probe", false)
		tb.row(i, 7, status, false, true)
		var want counts
		want.add(status)
		if status == 302 {
			if !tb.stems.at(i).good() {
				t.Errorf("status %d: stem not good", status)
			}
			continue
		}
		if _, _, ok := tb.stems.at(i).inlined(); !ok || tb.fine.n != 0 {
			t.Fatalf("status %d: row not inline (%d fine records)", status, tb.fine.n)
		}
		if d := cmp.Diff(map[int32]counts{7: want}, fineOf(tb, i), cmp.AllowUnexported(counts{})); d != "" {
			t.Errorf("status %d: inline row (-want +got):\n%s", status, d)
		}
	}

	a := newStemTable()
	ia := a.insert(hashStem("/a"), "/a", false)
	a.row(ia, 3, 404, false, true)
	ib := a.insert(hashStem("/b"), "/b", false)
	a.row(ib, 3, 500, false, true)
	a.row(ib, 4, 404, false, true) // second row: a chain
	if _, _, ok := a.stems.at(ib).inlined(); ok {
		t.Fatal("a stem of two rows is still inline")
	}

	merged := newStemTable()
	merged.merge(a)
	if merged.fine.n != 2 {
		t.Errorf("merged table has %d fine records, want 2 (/a inline, /b two)", merged.fine.n)
	}
	// Merging again: /a now has two rows under key 3.
	merged.merge(a)
	ka, _ := merged.find(hashStem("/a"))
	kb, _ := merged.find(hashStem("/b"))
	opts := cmp.AllowUnexported(counts{})
	if d := cmp.Diff(map[int32]counts{3: {req: 2, s4xx: 2}}, fineOf(merged, ka), opts); d != "" {
		t.Errorf("/a after two merges (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[int32]counts{3: {req: 2, s500: 2, s5xx: 2}, 4: {req: 2, s4xx: 2}}, fineOf(merged, kb), opts); d != "" {
		t.Errorf("/b after two merges (-want +got):\n%s", d)
	}

	// A spill record of an inline row reads back as that row.
	var rr runReader
	back := newStemTable()
	if _, err := rr.record(back, appendStem(nil, a, a.stems.at(ia))); err != nil {
		t.Fatal(err)
	}
	kr, ok := back.find(hashStem("/a"))
	if !ok {
		t.Fatal("spilled /a not read back")
	}
	if d := cmp.Diff(map[int32]counts{3: {req: 1, s4xx: 1}}, fineOf(back, kr), opts); d != "" {
		t.Errorf("/a read back (-want +got):\n%s", d)
	}
}

// TestSpillRoundTrip spills a table of many stems over every partition
// and reads each partition back: the same stems with the same counts,
// even when a failed spill left records in the spiller's scratch.
func TestSpillRoundTrip(t *testing.T) {
	tb := newStemTable()
	for k := range 5000 {
		s := fmt.Sprintf("/probe/%d", k)
		i := tb.insert(hashStem(s), s, false)
		for r := range k % 4 {
			tb.row(i, int32(r), []int32{404, 500, 200, 503}[(k+r)%4], false, true)
		}
	}
	sp := &spiller{dir: t.TempDir()}
	// What a spill that failed half-way would leave behind.
	for p := range sp.part {
		sp.part[p] = appendStem(sp.part[p], tb, tb.stems.at(int32(p)))
	}
	run, err := sp.spill(tb)
	if err != nil {
		t.Fatal(err)
	}
	// Partitions this small are read whole; split them too.
	for _, split := range []int64{subSplitBytes, 0} {
		setSubSplit(t, split)
		back := newStemTable()
		rr := sp.reader()
		for p := range spillPartitions {
			if err := rr.load(back, p, run); err != nil {
				t.Fatal(err)
			}
		}
		rr.close()
		checkReadBack(t, tb, back)
	}
}

// checkReadBack requires back to hold the stems of tb with their counts.
func checkReadBack(t *testing.T, tb, back *stemTable) {
	t.Helper()
	if back.len() != tb.len() {
		t.Fatalf("%d stems read back, %d spilled", back.len(), tb.len())
	}
	for i := range tb.stems.n {
		r := tb.stems.at(i)
		j, ok := back.find(r.h)
		if !ok {
			t.Fatalf("stem %q not read back", tb.str(r))
		}
		b := back.stems.at(j)
		if b.req != r.req || b.s500 != r.s500 || b.good() != r.good() {
			t.Errorf("stem %q: read back req %d s500 %d good %v, spilled %d %d %v", tb.str(r), b.req, b.s500, b.good(), r.req, r.s500, r.good())
		}
		if diff := cmp.Diff(fineOf(tb, i), fineOf(back, j), cmp.AllowUnexported(counts{})); diff != "" {
			t.Errorf("stem %q: rows (-spilled +read):\n%s", tb.str(r), diff)
		}
	}
}

// TestAppendNew checks the stems added without a lookup: the table
// builds no index until a lookup needs one, then finds every stem, and a
// stem appended twice (a dictionary with a repeated entry) merges into
// the same counts as the stem counted once.
func TestAppendNew(t *testing.T) {
	tb := newStemTable()
	const n = 5000
	for i := range n {
		s := fmt.Sprintf("/p/%d", i)
		tb.row(tb.appendNew(hashStem(s), s, false), int32(i%3), 404, false, true)
	}
	if tb.indexed != 0 || len(tb.slots) != minSlots {
		t.Fatalf("appended stems indexed: %d indexed, %d slots", tb.indexed, len(tb.slots))
	}
	for i := range n {
		s := fmt.Sprintf("/p/%d", i)
		if k, ok := tb.find(hashStem(s)); !ok || k != int32(i) || tb.str(tb.stems.at(k)) != s {
			t.Fatalf("%s: found %v at %d, want %d", s, ok, k, i)
		}
	}
	if tb.indexed != n {
		t.Errorf("after lookups %d stems indexed, want %d", tb.indexed, n)
	}
	if k := tb.lookup(hashStem("/new"), "/new", false); k != n {
		t.Errorf("a stem inserted after them is at %d, want %d", k, n)
	}
	// Appended again after the index was built, then looked up.
	tb.appendNew(hashStem("/late"), "/late", false)
	if k, ok := tb.find(hashStem("/late")); !ok || k != n+1 {
		t.Errorf("/late found %v at %d, want %d", ok, k, n+1)
	}

	// The same rows, once under one record of each stem and once with a
	// stem appended twice, merge into equal tables.
	once, twice := newStemTable(), newStemTable()
	for _, s := range []string{"/x", "/y"} {
		i := once.lookup(hashStem(s), s, false)
		once.row(i, 1, 404, false, true)
		once.row(i, 2, 500, false, true)
	}
	x1 := twice.appendNew(hashStem("/x"), "/x", false)
	y := twice.appendNew(hashStem("/y"), "/y", false)
	x2 := twice.appendNew(hashStem("/x"), "/x", false)
	twice.row(x1, 1, 404, false, true)
	twice.row(y, 1, 404, false, true)
	twice.row(x2, 2, 500, false, true)
	twice.row(y, 2, 500, false, true)
	m1, m2 := newStemTable(), newStemTable()
	m1.merge(once)
	m2.merge(twice)
	opts := cmp.AllowUnexported(counts{})
	for _, s := range []string{"/x", "/y"} {
		k1, _ := m1.find(hashStem(s))
		k2, ok := m2.find(hashStem(s))
		if !ok || m2.len() != 2 {
			t.Fatalf("%s: merged %v, table of %d stems", s, ok, m2.len())
		}
		r1, r2 := m1.stems.at(k1), m2.stems.at(k2)
		if r1.req != r2.req || r1.s500 != r2.s500 {
			t.Errorf("%s: %d requests, %d 500s, want %d, %d", s, r2.req, r2.s500, r1.req, r1.s500)
		}
		if d := cmp.Diff(fineOf(m1, k1), fineOf(m2, k2), opts); d != "" {
			t.Errorf("%s: rows (-once +twice):\n%s", s, d)
		}
	}

	// Emptied, the table clears only an index it built.
	tb.reset()
	if tb.indexed != 0 || tb.len() != 0 {
		t.Errorf("reset table: %d indexed, %d stems", tb.indexed, tb.len())
	}
	if _, ok := tb.find(hashStem("/p/1")); ok {
		t.Error("reset table still finds a stem")
	}
}

// TestSpillRecordDamaged reads back every cut of spill records (an
// inline row, a chain, a good path) and records with bytes changed: a
// cut record is an error, and no damage makes the reader panic.
func TestSpillRecordDamaged(t *testing.T) {
	tb := newStemTable()
	in := tb.insert(hashStem("/probe"), "/probe", false)
	tb.row(in, 300, 404, false, true)
	ch := tb.insert(hashStem("/old"), "/old", false)
	for k := range int32(5) {
		tb.row(ch, k*100, []int32{404, 500, 503}[k%3], false, true)
	}
	gd := tb.insert(hashStem("/good"), "/good", false)
	tb.row(gd, 1, 200, false, true)
	var rr runReader
	for _, i := range []int32{in, ch, gd} {
		rec := appendStem(nil, tb, tb.stems.at(i))
		if rest, err := rr.record(newStemTable(), rec); err != nil || len(rest) != 0 {
			t.Fatalf("%q: whole record: %v, %d bytes left", tb.str(tb.stems.at(i)), err, len(rest))
		}
		if _, rest, err := decodeRecord(rec, nil); err != nil || len(rest) != 0 {
			t.Fatalf("%q: whole record decoded: %v, %d bytes left", tb.str(tb.stems.at(i)), err, len(rest))
		}
		for k := range len(rec) {
			if _, err := rr.record(newStemTable(), rec[:k]); err == nil {
				t.Errorf("%q: record cut to %d of %d bytes read without error", tb.str(tb.stems.at(i)), k, len(rec))
			}
			if _, rest, err := decodeRecord(rec[:k], nil); err == nil {
				t.Errorf("%q: record cut to %d of %d bytes decoded without error, %d bytes left", tb.str(tb.stems.at(i)), k, len(rec), len(rest))
			}
		}
		for k := range len(rec) {
			for _, b := range []byte{0x00, 0x7f, 0x80, 0xff} {
				bad := append([]byte(nil), rec...)
				bad[k] = b
				rr.record(newStemTable(), bad) // must not panic
				if _, rest, err := decodeRecord(bad, nil); err == nil && len(rest) >= len(bad) {
					t.Errorf("%q: byte %d set to %#x: %d of %d bytes left", tb.str(tb.stems.at(i)), k, b, len(rest), len(bad))
				}
			}
		}
	}
}

// TestOpenRunCreateFails: a spiller that cannot create its open run
// keeps the error, so that the stems it could not take are never
// classified as though they had been counted.
func TestOpenRunCreateFails(t *testing.T) {
	tb := newStemTable()
	tb.insert(hashStem("/a"), "/a", false)
	sp := &spiller{dir: filepath.Join(t.TempDir(), "gone")}
	if _, err := sp.add(tb); err == nil {
		t.Fatal("add to an open run in a missing folder: no error")
	}
	if err := sp.seal(); err == nil {
		t.Error("seal after a failed add: no error")
	}
	if _, err := sp.add(tb); err == nil {
		t.Error("a second add after a failed one: no error")
	}
}

// TestSpillDamageNamed damages the first record of a partition's chunk
// in the second of two runs on disk: reading the partition back fails,
// whether it is gathered whole or split, with the run's file and the
// record's offset in the error.
func TestSpillDamageNamed(t *testing.T) {
	sp := &spiller{dir: t.TempDir()}
	var runs []int
	for r := range 2 {
		tb := newStemTable()
		for k := range 3000 {
			s := fmt.Sprintf("/run%d/%d", r, k)
			tb.row(tb.insert(hashStem(s), s, false), int32(k%5), 404, false, true)
		}
		run, err := sp.spill(tb)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	const p = 7
	first, second := sp.chunks[runs[0]][p], sp.chunks[runs[1]][p]
	if len(first) == 0 || len(second) == 0 {
		t.Fatalf("partition %d: %d and %d chunks in the runs", p, len(first), len(second))
	}
	// A string length of ten 0xff bytes is no uvarint.
	name, off := sp.file(runs[1]), second[0].off
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 10), off+17); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s at %d: %v", name, off, errSpillRecord)
	for _, split := range []int64{1 << 40, 0} {
		setSubSplit(t, split)
		rr := sp.reader()
		err := rr.load(newStemTable(), p, runs...)
		rr.close()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("split past %d bytes: read back with %v, want an error naming %q", split, err, want)
		}
	}
}
