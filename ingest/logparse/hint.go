package logparse

import (
	"sync"

	"github.com/cflens/cflens/ingest/schema"
)

// SizeHint carries what the Readers of a run have read to the next ones:
// rows per byte of stored object, and text bytes per row of each string
// column. A Reader's first batch otherwise starts its buffers small and
// doubles them as rows come: on objects of one batch, as CloudFront's
// are, the string buffers allocated about three times the text they
// kept, and copied it once more. With a hint, the first batch of an
// object reserves about what the object will hold. A SizeHint is safe for
// concurrent use; its zero value is ready.
type SizeHint struct {
	mu          sync.Mutex
	rowsPerByte float64
	textPerRow  [schema.NumColumns]float64
}

// hintSlack is the share added to an estimate, so that an object a
// little longer than the average still fits.
const hintSlack = 1.0 / 16

// estimate returns the rows to reserve for the first batch of an object
// of size stored bytes (0 when nothing was observed yet or the size is
// unknown) and the text bytes per row of each column. A batch holds at
// most batchRows rows and about maxBytes of text, and so does the
// estimate.
func (h *SizeHint) estimate(size int64, batchRows, maxBytes int) (rows int, textPerRow [schema.NumColumns]float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rowsPerByte == 0 || size <= 0 {
		return 0, textPerRow
	}
	est := min(float64(size)*h.rowsPerByte*(1+hintSlack), float64(batchRows))
	var perRow float64
	for _, n := range h.textPerRow {
		perRow += n
	}
	if perRow > 0 {
		est = min(est, float64(maxBytes)/perRow)
	}
	return int(est), h.textPerRow
}

// observe records an object of size stored bytes that gave rows rows and
// text bytes of text in each string column. The latest object counts
// for half.
func (h *SizeHint) observe(size, rows int64, text *[schema.NumColumns]int64) {
	if size <= 0 || rows <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	mix := func(old, v float64) float64 {
		if old == 0 {
			return v
		}
		return (old + v) / 2
	}
	h.rowsPerByte = mix(h.rowsPerByte, float64(rows)/float64(size))
	for c, n := range text {
		h.textPerRow[c] = mix(h.textPerRow[c], float64(n)/float64(rows))
	}
}
