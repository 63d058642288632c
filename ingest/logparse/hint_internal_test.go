package logparse

import (
	"testing"

	"github.com/cflens/cflens/ingest/schema"
)

// TestSizeHintBounds: an estimate scales with the object's size, and
// stays within a batch's rows and text however large the object.
func TestSizeHintBounds(t *testing.T) {
	var h SizeHint
	if rows, _ := h.estimate(1<<20, DefaultBatchRows, maxBatchBytes); rows != 0 {
		t.Errorf("estimate before any object: %d rows, want 0", rows)
	}
	var text [schema.NumColumns]int64
	text[schema.CsCookie] = 8192 * 1000 // 8 KiB of cookie per row
	h.observe(1<<20, 1000, &text)
	rows, per := h.estimate(1<<19, DefaultBatchRows, maxBatchBytes)
	slack := 1 + hintSlack
	if want := int(500 * slack); rows != want {
		t.Errorf("half the size: %d rows, want %d", rows, want)
	}
	if per[schema.CsCookie] != 8<<10 {
		t.Errorf("cookie text per row %v, want 8192", per[schema.CsCookie])
	}
	rows, _ = h.estimate(1<<40, DefaultBatchRows, maxBatchBytes)
	if rows > DefaultBatchRows || float64(rows)*per[schema.CsCookie] > maxBatchBytes {
		t.Errorf("a huge object: %d rows of 8 KiB, beyond a batch (%d rows, %d bytes)", rows, DefaultBatchRows, maxBatchBytes)
	}
	if rows, _ := h.estimate(0, DefaultBatchRows, maxBatchBytes); rows != 0 {
		t.Errorf("unknown size: %d rows, want 0", rows)
	}
}
