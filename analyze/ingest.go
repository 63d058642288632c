package analyze

import (
	"fmt"

	"github.com/cflens/cflens/ingest"
)

// AddIngest completes a result built by Aggregator.Result with what only
// the ingest run that fed the aggregator knows: the lines the parser
// rejected, and a warning when the run could not read every object. A
// nil summary (the rows came from a dataset) leaves res as it is.
func (res *Result) AddIngest(sum *ingest.Summary) {
	if sum == nil {
		return
	}
	res.Input.RejectedLines = sum.RejectedLines
	if !sum.Complete {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the run was incomplete: %d objects could not be read", len(sum.Failed)))
	}
}
