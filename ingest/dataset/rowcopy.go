package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// A merge (the files of a partition compacted into one, or the rows of a
// file kept when some of its objects are replaced) used to decode every
// row it kept and encode it again: on a run of small objects, a quarter
// of ingest's CPU time went to rows already written once. A file whose
// rows are all kept now has its row groups copied byte for byte into the
// merged file: the column chunks are the same bytes at new offsets, and
// the footer lists them, shifted, before the row groups encoded for the
// rest. Parquet orders rows by the footer's list of row groups, not by
// their place in the file, so the copied rows still come first.
//
// A file is copied only when nothing about it differs from what the
// writer would write: the same Parquet schema, the same ARROW:schema, the
// codec of the run, no encryption, page index or bloom filter, and
// column chunks that tile the data without gaps. Any other file is
// decoded and encoded as before. So are files of fewer than CopyRows
// rows: a merged file would otherwise carry their small row groups for
// ever, and re-encoding them costs little.
//
// The same goes for the staging files of large objects (stage.go): one
// that is the whole of its partition's new file is adopted as it is, and
// one that shares the file with other rows, as several large objects of
// one hour do, has its row groups copied in after the files kept whole.

// rowSource is a data or staging file whose row groups are copied as
// they are.
type rowSource struct {
	key     string
	f       *os.File
	cleanup func()
	meta    *metadata.FileMetaData
	lo, hi  int64 // the column chunks' bytes
}

func (s *rowSource) close() { s.cleanup() }

// openRowSource reads the footer of f, a data or staging file that should
// hold rows rows, and checks that its row groups can be copied into a
// file written with props whose metadata so far is want. It returns
// errNotCopyable, wrapped with the reason, when they cannot. It takes
// over f: cleanup closes it (and removes a spooled copy), on error too.
func openRowSource(f *os.File, cleanup func(), name string, rows int64, props *parquet.WriterProperties, want *metadata.FileMetaData) (*rowSource, error) {
	rd, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(props.Allocator())))
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("open parquet %s: %w", name, err)
	}
	// The reader holds nothing the metadata needs; the file stays open
	// for the copy.
	s := &rowSource{key: name, f: f, cleanup: cleanup, meta: rd.MetaData()}
	if err := s.check(rows, props, want); err != nil {
		cleanup()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

var errNotCopyable = errors.New("row groups cannot be copied")

func notCopyable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errNotCopyable, fmt.Sprintf(format, args...))
}

// check works out s.lo and s.hi, and reports why the row groups of s
// cannot be copied into a file of want's schema written with props.
func (s *rowSource) check(rows int64, props *parquet.WriterProperties, want *metadata.FileMetaData) error {
	m := s.meta
	if m.IsSetEncryptionAlgorithm() {
		return notCopyable("encrypted")
	}
	if !m.Schema.Equals(want.Schema) {
		return notCopyable("another Parquet schema")
	}
	if got, exp := m.KeyValueMetadata().FindValue(arrowSchemaKey), want.KeyValueMetadata().FindValue(arrowSchemaKey); got == nil || exp == nil || *got != *exp {
		return notCopyable("another Arrow schema")
	}
	if m.NumRows != rows {
		return fmt.Errorf("file has %d rows, want %d", m.NumRows, rows)
	}
	s.lo, s.hi = -1, -1
	var sum int64
	for _, rg := range m.RowGroups {
		if len(rg.Columns) != m.Schema.NumColumns() {
			return notCopyable("row group of %d columns", len(rg.Columns))
		}
		for i, cc := range rg.Columns {
			md := cc.MetaData
			if md == nil || cc.IsSetFilePath() || cc.IsSetCryptoMetadata() || cc.IsSetEncryptedColumnMetadata() {
				return notCopyable("column chunk %d elsewhere or encrypted", i)
			}
			if cc.IsSetColumnIndexOffset() || cc.IsSetOffsetIndexOffset() || md.IsSetBloomFilterOffset() {
				return notCopyable("page index or bloom filter")
			}
			if compress.Compression(md.Codec) != props.CompressionPath(parquet.ColumnPath(md.PathInSchema)) {
				return notCopyable("codec %s", compress.Compression(md.Codec))
			}
			start := md.DataPageOffset
			if md.IsSetDictionaryPageOffset() && md.GetDictionaryPageOffset() > 0 {
				start = min(start, md.GetDictionaryPageOffset())
			}
			if md.IsSetIndexPageOffset() && md.GetIndexPageOffset() > 0 {
				start = min(start, md.GetIndexPageOffset())
			}
			end := start + md.TotalCompressedSize
			if start < 4 || md.TotalCompressedSize <= 0 {
				return notCopyable("column chunk %d at %d", i, start)
			}
			if s.lo < 0 || start < s.lo {
				s.lo = start
			}
			s.hi = max(s.hi, end)
			sum += md.TotalCompressedSize
		}
	}
	if s.lo < 0 {
		s.lo, s.hi = 4, 4
	}
	if s.hi-s.lo != sum {
		return notCopyable("column chunks leave gaps or overlap")
	}
	return nil
}

// shift moves every offset of s's row groups by delta, numbers them from
// ordinal, and returns the ordinal after them.
func (s *rowSource) shift(delta int64, ordinal int) int {
	for _, rg := range s.meta.RowGroups {
		for _, cc := range rg.Columns {
			md := cc.MetaData
			md.DataPageOffset += delta
			if md.IsSetDictionaryPageOffset() && *md.DictionaryPageOffset > 0 {
				*md.DictionaryPageOffset += delta
			}
			if md.IsSetIndexPageOffset() && *md.IndexPageOffset > 0 {
				*md.IndexPageOffset += delta
			}
			if cc.FileOffset > 0 {
				cc.FileOffset += delta
			}
		}
		if rg.IsSetFileOffset() {
			*rg.FileOffset += delta
		}
		o := int16(ordinal)
		rg.Ordinal = &o
		ordinal++
	}
	return ordinal
}

// arrowSchemaKey is the footer key under which pqarrow stores the Arrow
// schema.
const arrowSchemaKey = "ARROW:schema"

// finishWithCopies ends a file whose encoded row groups have been
// written through cw: it writes the row groups of srcs after them, then
// a footer that lists the copied row groups first, in srcs order, then
// the encoded ones.
func (f *columnFile) finishWithCopies(cw *countingWriter, srcs []*rowSource) error {
	if len(srcs) == 0 {
		return f.Close()
	}
	if f.rg != nil {
		// Close the last row group now, so that its column chunks are
		// written before the footer that Close would write is set aside.
		if err := f.rg.Close(); err != nil {
			return err
		}
	}
	cw.discard = true
	err := f.wr.Close()
	cw.discard = false
	if err != nil {
		return err
	}
	encoded, err := f.wr.FileMetadata()
	if err != nil {
		return err
	}
	for _, rg := range encoded.RowGroups {
		for _, cc := range rg.Columns {
			if cc.IsSetColumnIndexOffset() || cc.IsSetOffsetIndexOffset() || cc.MetaData.IsSetBloomFilterOffset() {
				return errors.New("merge: the writer wrote a page index or bloom filter, which are not copied")
			}
		}
	}
	ordinal := 0
	rgs := encoded.RowGroups[:0:0]
	for _, s := range srcs {
		delta := cw.n - s.lo
		n, err := io.Copy(cw, io.NewSectionReader(s.f, s.lo, s.hi-s.lo))
		if err == nil && n != s.hi-s.lo {
			err = io.ErrUnexpectedEOF // the file ends before its column chunks do
		}
		if err != nil {
			return fmt.Errorf("copy row groups of %s: %w", s.key, err)
		}
		ordinal = s.shift(delta, ordinal)
		rgs = append(rgs, s.meta.RowGroups...)
		encoded.NumRows += s.meta.NumRows
	}
	for _, rg := range encoded.RowGroups {
		o := int16(ordinal)
		rg.Ordinal = &o
		ordinal++
	}
	encoded.RowGroups = slices.Concat(rgs, encoded.RowGroups)
	n, err := encoded.WriteTo(cw, nil)
	if err != nil {
		return err
	}
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:4], uint32(n))
	copy(tail[4:], "PAR1")
	_, err = cw.Write(tail[:])
	return err
}
