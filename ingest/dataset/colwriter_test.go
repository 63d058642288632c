package dataset

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cflens/cflens/ingest/schema"
)

// TestColumnFileMatchesPqarrow: the parallel column writer writes the same
// bytes as pqarrow.FileWriter given the same row groups: real samples and
// generated logs (nulls, dictionary columns, several row groups of
// several batches), with each codec.
func TestColumnFileMatchesPqarrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var batches []arrow.RecordBatch
	for _, o := range testObjects(t) {
		batches = append(batches, parseLog(t, mem, o.ref, o.data)...)
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	// Row groups of up to four batches, their dictionaries unified as
	// rowGroups does.
	var groups [][]arrow.RecordBatch
	for i := 0; i < len(batches); i += 4 {
		g := make([]arrow.RecordBatch, 0, 4)
		for _, b := range batches[i:min(i+4, len(batches))] {
			b.Retain()
			g = append(g, b)
		}
		if len(g) > 1 {
			if err := unifyDicts(mem, g); err != nil {
				t.Fatal(err)
			}
		}
		groups = append(groups, g)
	}
	defer func() {
		for _, g := range groups {
			for _, b := range g {
				b.Release()
			}
		}
	}()
	if len(groups) < 3 {
		t.Fatalf("%d row groups, want several", len(groups))
	}
	for _, codec := range []string{CompressionZstd, CompressionSnappy} {
		t.Run(codec, func(t *testing.T) {
			props, arrowProps, err := writerProperties(Options{Compression: codec, RowGroupRows: 1 << 20}, mem)
			if err != nil {
				t.Fatal(err)
			}
			var want, got bytes.Buffer
			fw, err := pqarrow.NewFileWriter(schema.Arrow(), &want, props, arrowProps)
			if err != nil {
				t.Fatal(err)
			}
			for k, g := range groups {
				if k > 0 {
					if err := fw.NewBufferedRowGroupChecked(); err != nil {
						t.Fatal(err)
					}
				}
				for _, b := range g {
					if err := fw.WriteBuffered(b); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			cf, err := newColumnFile(&got, schema.Arrow(), props, arrowProps)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups {
				if err := cf.writeRowGroup(g); err != nil {
					t.Fatal(err)
				}
			}
			if err := cf.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%d bytes differ from pqarrow.FileWriter's %d", got.Len(), want.Len())
			}
		})
	}
}
