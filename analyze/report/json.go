package report

import (
	"io"

	"github.com/cflens/cflens/analyze"
)

// JSON writes the analysis as the indented cflens.analysis/v1 JSON
// contract: fields in a fixed order, map keys sorted, times in RFC 3339
// UTC, '<', '>' and '&' escaped so the text is inert inside HTML too.
// It is analyze.WriteJSON, so that the contract has one encoder.
func JSON(w io.Writer, r *analyze.Result) error { return analyze.WriteJSON(w, r) }
