package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// dictChunk reads a string column chunk whose data pages are all
// dictionary-encoded, as dictionary arrays that share the chunk's
// dictionary: the pages' indices are decoded straight into the batch's
// index buffer. arrow-go offers no public way to get at the indices; its
// column chunk reader looks every value up, and its record reader goes
// through spaced scratch buffers that it allocates afresh for every
// chunk, which cost the analysis more than all its counting.
//
// The page layout is the Parquet format's: the definition levels of an
// optional column as an RLE/bit-packed hybrid run of 1-bit levels, then
// the bit width of the indices in one byte and the indices of the
// non-null values as a hybrid run.
type dictChunk struct {
	pr     file.PageReader // owns the pages
	maxDef int16
	dict   *array.String

	left int // values (levels) left in the current page
	defs hybrid
	idx  hybrid

	lv  []int32 // scratch: levels of a batch
	nnv []int32 // scratch: indices of a batch's non-null values
}

// errDictPage reports a page that the chunk's metadata said it would not
// hold, or a page that is damaged.
var errDictPage = errors.New("dictionary page reader")

func (d *dictChunk) open(pr file.PageReader, maxDef int16) {
	d.close()
	d.pr, d.maxDef = pr, maxDef
}

// close releases the chunk's dictionary and page reader.
func (d *dictChunk) close() error {
	if d.dict != nil {
		d.dict.Release()
		d.dict = nil
	}
	d.left = 0
	var err error
	if d.pr != nil {
		err = d.pr.Close()
		d.pr = nil
	}
	return err
}

// nextPage moves to the chunk's next data page, taking in the dictionary
// page on the way.
func (d *dictChunk) nextPage(mem memory.Allocator) error {
	for {
		if !d.pr.Next() {
			if err := d.pr.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w: the chunk ends early", errDictPage)
		}
		switch p := d.pr.Page().(type) {
		case *file.DictionaryPage:
			if d.dict != nil {
				return fmt.Errorf("%w: a second dictionary page", errDictPage)
			}
			dict, err := plainStrings(p.Data(), int(p.NumValues()), mem)
			if err != nil {
				return err
			}
			d.dict = dict
		case *file.DataPageV1:
			return d.startPageV1(p)
		case *file.DataPageV2:
			return d.startPageV2(p)
		default:
			return fmt.Errorf("%w: unexpected %T", errDictPage, p)
		}
	}
}

// startPageV1 takes a version 1 data page: its definition levels come
// with their length in 4 bytes.
func (d *dictChunk) startPageV1(p *file.DataPageV1) error {
	data := p.Data()
	if err := d.checkPage(parquet.Encoding(p.Encoding()), p.NumValues()); err != nil {
		return err
	}
	if d.maxDef > 0 {
		if p.DefinitionLevelEncoding() != parquet.Encodings.RLE {
			return fmt.Errorf("%w: definition levels encoded %s", errDictPage, p.DefinitionLevelEncoding())
		}
		if len(data) < 4 {
			return fmt.Errorf("%w: truncated definition levels", errDictPage)
		}
		n := binary.LittleEndian.Uint32(data)
		if uint64(n) > uint64(len(data)-4) {
			return fmt.Errorf("%w: definition levels of %d bytes in a page of %d", errDictPage, n, len(data))
		}
		d.defs.reset(data[4:4+n], 1)
		data = data[4+n:]
	}
	return d.startIndices(data)
}

// startPageV2 takes a version 2 data page: the page header gives the
// length of its definition levels, which come first as the column has no
// repetition levels.
func (d *dictChunk) startPageV2(p *file.DataPageV2) error {
	data := p.Data()
	if err := d.checkPage(parquet.Encoding(p.Encoding()), p.NumValues()); err != nil {
		return err
	}
	rl, dl := int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
	if rl != 0 || dl < 0 || dl > len(data) || (d.maxDef == 0 && dl != 0) {
		return fmt.Errorf("%w: levels of %d and %d bytes in a page of %d", errDictPage, rl, dl, len(data))
	}
	if d.maxDef > 0 {
		d.defs.reset(data[:dl], 1)
	}
	return d.startIndices(data[dl:])
}

func (d *dictChunk) checkPage(e parquet.Encoding, values int32) error {
	if d.dict == nil {
		return fmt.Errorf("%w: data page before the dictionary", errDictPage)
	}
	if e != parquet.Encodings.RLEDict && e != parquet.Encodings.PlainDict {
		return fmt.Errorf("%w: data page encoded %s", errDictPage, e)
	}
	if values < 0 {
		return fmt.Errorf("%w: %d values", errDictPage, values)
	}
	d.left = int(values)
	return nil
}

// startIndices starts the indices of a page: their bit width in a byte,
// then the runs.
func (d *dictChunk) startIndices(data []byte) error {
	if d.left > 0 {
		// A page of nulls only may hold no index bytes at all.
		if len(data) == 0 {
			data = []byte{0}
		}
		if data[0] > 32 {
			return fmt.Errorf("%w: index bit width %d", errDictPage, data[0])
		}
		d.idx.reset(data[1:], uint(data[0]))
	}
	return nil
}

// read returns the chunk's next n rows as a dictionary array of type dt.
// Its index and validity buffers come from pool: every byte of them is
// written.
func (d *dictChunk) read(n int, dt arrow.DataType, mem memory.Allocator, pool memory.Allocator) (arrow.Array, error) {
	idxBuf := memory.NewResizableBuffer(pool)
	idxBuf.Resize(n * arrow.Int32SizeBytes)
	out := arrow.Int32Traits.CastFromBytes(idxBuf.Bytes())
	var valid *memory.Buffer
	nulls := 0
	// The array takes its own references to the buffers.
	defer func() {
		idxBuf.Release()
		if valid != nil {
			valid.Release()
		}
	}()
	for done := 0; done < n; {
		if d.left == 0 {
			if err := d.nextPage(mem); err != nil {
				return nil, err
			}
			continue
		}
		k := min(n-done, d.left)
		dst := out[done : done+k]
		nn := k
		if d.maxDef > 0 {
			d.lv = flatGrow(d.lv, int64(k))
			if err := d.defs.decode(d.lv); err != nil {
				return nil, fmt.Errorf("%w: definition levels: %v", errDictPage, err)
			}
			nn = 0
			for _, l := range d.lv {
				nn += int(l)
			}
			if nn < k && valid == nil {
				valid = memory.NewResizableBuffer(pool)
				valid.Resize(int(bitutil.BytesForBits(int64(n))))
				vb := valid.Bytes()
				for i := range vb {
					vb[i] = 0xff // recycled memory: every byte set
				}
			}
		}
		vals := dst
		if nn < k {
			d.nnv = flatGrow(d.nnv, int64(nn))
			vals = d.nnv
		}
		if err := d.idx.decode(vals); err != nil {
			return nil, fmt.Errorf("%w: indices: %v", errDictPage, err)
		}
		// Indices of w bits are below 1<<w: when the dictionary is at
		// least that long, none can be outside it.
		if w := d.idx.width; w > 30 || 1<<w > d.dict.Len() {
			if err := checkIndices(vals, d.dict.Len()); err != nil {
				return nil, err
			}
		}
		if nn < k {
			j := 0
			vb := valid.Bytes()
			for i, l := range d.lv {
				if l == 0 {
					dst[i] = 0
					bitutil.ClearBit(vb, done+i)
					nulls++
					continue
				}
				dst[i] = d.nnv[j]
				j++
			}
		}
		d.left -= k
		done += k
	}
	buffers := []*memory.Buffer{valid, idxBuf}
	if nulls == 0 {
		buffers[0] = nil
	}
	data := array.NewData(arrow.PrimitiveTypes.Int32, n, buffers, nil, nulls, 0)
	indices := array.MakeFromData(data)
	data.Release()
	defer indices.Release()
	return array.NewDictionaryArray(dt, indices, d.dict), nil
}

// checkIndices fails when an index of a value is outside the dictionary
// (a damaged file): the arrays handed on must be safe to look up.
func checkIndices(idx []int32, n int) error {
	var bad int32
	for _, v := range idx {
		bad |= v | (int32(n-1) - v)
	}
	if bad < 0 {
		for _, v := range idx {
			if v < 0 || int(v) >= n {
				return fmt.Errorf("%w: index %d in a dictionary of %d values", errDictPage, v, n)
			}
		}
	}
	return nil
}

// plainStrings decodes n PLAIN byte arrays (each a 4-byte length and its
// bytes) into a string array, its offsets and bytes written straight
// into its buffers.
func plainStrings(data []byte, n int, mem memory.Allocator) (*array.String, error) {
	// Every value takes at least its 4-byte length: a count beyond that
	// is damage, and must not size the buffers.
	if n < 0 || n > len(data)/4 {
		return nil, fmt.Errorf("%w: dictionary of %d values in %d bytes", errDictPage, n, len(data))
	}
	offBuf := memory.NewResizableBuffer(mem)
	defer offBuf.Release()
	offBuf.Resize((n + 1) * arrow.Int32SizeBytes)
	offs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	valBuf := memory.NewResizableBuffer(mem)
	defer valBuf.Release()
	valBuf.Resize(len(data) - 4*n)
	vals := valBuf.Bytes()
	pos := 0
	for i := 0; i < n; i++ {
		if len(data) < 4 {
			return nil, fmt.Errorf("%w: dictionary truncated at value %d of %d", errDictPage, i, n)
		}
		l := binary.LittleEndian.Uint32(data)
		if uint64(l) > uint64(len(data)-4) {
			return nil, fmt.Errorf("%w: dictionary value %d of %d bytes, %d left", errDictPage, i, l, len(data)-4)
		}
		offs[i] = int32(pos)
		pos += copy(vals[pos:], data[4:4+l])
		data = data[4+l:]
	}
	offs[n] = int32(pos)
	valBuf.Resize(pos)
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, offBuf, valBuf}, nil, 0, 0)
	defer d.Release()
	return array.NewStringData(d), nil
}

// hybrid decodes the Parquet RLE/bit-packed hybrid encoding of values of
// width bits: a sequence of runs, each headed by a ULEB128 varint whose
// low bit tells a bit-packed run (header>>1 groups of 8 values, packed
// least significant bit first) from a repeated run (header>>1 copies of
// one value stored in ceil(width/8) little-endian bytes).
type hybrid struct {
	data  []byte
	width uint

	rep    int    // values left in the current repeated run
	repVal int32  // its value
	packed []byte // the rest of the current bit-packed run
	pos    uint   // bit position of the next value in packed
	pack   int    // values left in packed
}

func (h *hybrid) reset(data []byte, width uint) {
	*h = hybrid{data: data, width: width}
}

// decode fills dst with the next len(dst) values.
func (h *hybrid) decode(dst []int32) error {
	for len(dst) > 0 {
		switch {
		case h.rep > 0:
			k := min(h.rep, len(dst))
			v := h.repVal
			for i := range dst[:k] {
				dst[i] = v
			}
			h.rep -= k
			dst = dst[k:]
		case h.pack > 0:
			k := min(h.pack, len(dst))
			h.unpack(dst[:k])
			h.pack -= k
			dst = dst[k:]
		default:
			if err := h.nextRun(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *hybrid) nextRun() error {
	header, n := binary.Uvarint(h.data)
	if n <= 0 {
		if len(h.data) == 0 {
			return errors.New("runs end before the values")
		}
		return errors.New("bad run header")
	}
	h.data = h.data[n:]
	count := header >> 1
	if count > 1<<31 {
		return fmt.Errorf("run of %d", count)
	}
	if header&1 == 0 {
		nb := int(h.width+7) / 8
		if len(h.data) < nb {
			return errors.New("truncated repeated run")
		}
		var v uint64
		for i := nb - 1; i >= 0; i-- {
			v = v<<8 | uint64(h.data[i])
		}
		if h.width < 32 && v>>h.width != 0 {
			return fmt.Errorf("value %d wider than %d bits", v, h.width)
		}
		h.data = h.data[nb:]
		h.rep, h.repVal = int(count), int32(v)
		return nil
	}
	// count groups of 8 values. The last run of a page may stop short of
	// its padding bytes; the values past the page's count are never read.
	values := count * 8
	nbytes := min(uint64(len(h.data)), (values*uint64(h.width)+7)/8)
	if h.width > 0 {
		values = min(values, nbytes*8/uint64(h.width))
	}
	if values == 0 && count > 0 {
		return errors.New("truncated bit-packed run")
	}
	h.packed, h.data = h.data[:nbytes], h.data[nbytes:]
	h.pos, h.pack = 0, int(values)
	return nil
}

// unpack reads len(dst) values of the current bit-packed run.
func (h *hybrid) unpack(dst []int32) {
	w := h.width
	if w == 0 {
		clear(dst)
		return
	}
	mask := uint64(1)<<w - 1
	p, pos := h.packed, h.pos
	i := 0
	if w <= 8 {
		// Eight values of up to 8 bits that start on a byte boundary
		// take w bytes: one load gives all of them. Groups of eight
		// start on one, so at most seven values come before.
		for ; i < len(dst) && pos%8 != 0 && int(pos/8)+8 <= len(p); i++ {
			dst[i] = int32(binary.LittleEndian.Uint64(p[pos/8:]) >> (pos % 8) & mask)
			pos += w
		}
		for ; pos%8 == 0 && i+8 <= len(dst) && int(pos/8)+8 <= len(p); i += 8 {
			word := binary.LittleEndian.Uint64(p[pos/8:])
			d := dst[i : i+8 : i+8]
			d[0] = int32(word & mask)
			d[1] = int32(word >> w & mask)
			d[2] = int32(word >> (2 * w) & mask)
			d[3] = int32(word >> (3 * w) & mask)
			d[4] = int32(word >> (4 * w) & mask)
			d[5] = int32(word >> (5 * w) & mask)
			d[6] = int32(word >> (6 * w) & mask)
			d[7] = int32(word >> (7 * w) & mask)
			pos += 8 * w
		}
	}
	// Eight bytes at a time while they are all inside the run: a value
	// of up to 32 bits at any bit offset fits in them.
	for ; i < len(dst) && int(pos/8)+8 <= len(p); i++ {
		word := binary.LittleEndian.Uint64(p[pos/8:])
		dst[i] = int32(word >> (pos % 8) & mask)
		pos += w
	}
	for ; i < len(dst); i++ {
		var word uint64
		for k := int(pos / 8); k < len(p) && k < int(pos/8)+8; k++ {
			word |= uint64(p[k]) << (8 * uint(k-int(pos/8)))
		}
		dst[i] = int32(word >> (pos % 8) & mask)
		pos += w
	}
	h.pos = pos
}
