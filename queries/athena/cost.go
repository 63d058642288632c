package athena

import (
	"context"
	"fmt"
	"time"

	"github.com/cflens/cflens/ingest/dataset"
)

// Athena's price for SQL queries on data in S3, as AWS bills it: USD 5
// per TB scanned, rounded up to the next megabyte, with a 10 MB minimum
// per query (https://aws.amazon.com/athena/pricing/). AWS counts TB and
// MB in powers of 2 here, as in the rest of its billing.
const (
	PricePerTB      = 5.0
	BytesPerTB      = 1 << 40
	BillingUnit     = 1 << 20
	MinBilledPerRun = 10 << 20
)

// Cost returns the price of one query that scanned the given bytes.
func Cost(scanned int64) float64 {
	b := (max(scanned, 0) + BillingUnit - 1) / BillingUnit * BillingUnit
	b = max(b, MinBilledPerRun)
	return float64(b) / BytesPerTB * PricePerTB
}

// Scan is what a run is expected to read before it runs.
type Scan struct {
	// Objects and Bytes count the dataset objects in the pruned
	// partitions.
	Objects int
	Bytes   int64
	// Queries is the number of queries, each of which reads at most
	// Bytes.
	Queries int
}

// Upper is the most the run can scan: every query reading every
// object in its partitions whole. Athena reads only the columns a query
// names, so the real figure is lower.
func (s Scan) Upper() int64 { return s.Bytes * int64(s.Queries) }

// Cost is the price of Upper, with the minimum billed per query.
func (s Scan) Cost() float64 {
	if s.Queries == 0 {
		return 0
	}
	return Cost(s.Bytes) * float64(s.Queries)
}

// EstimateScan sums the sizes of the dataset objects in the partitions
// that queries over [from, to) and distributions prune to: the
// projected hours that overlap the range, of the listed distributions
// (all when empty).
func EstimateScan(ctx context.Context, st dataset.Store, from, to time.Time, distributions []string, queries int) (Scan, error) {
	files, err := dataset.Files(ctx, st, dataset.ReadOptions{From: from, To: to, Distributions: distributions})
	if err != nil {
		return Scan{}, fmt.Errorf("list the dataset's partitions: %w", err)
	}
	s := Scan{Objects: len(files), Queries: queries}
	for _, f := range files {
		s.Bytes += f.Size
	}
	return s, nil
}

// EstimateObjects sums the sizes of the objects under prefix in st: what
// a query of a table without partitions reads.
func EstimateObjects(ctx context.Context, st dataset.Store, prefix string) (objects int, bytes int64, err error) {
	for ref, err := range st.List(ctx, prefix) {
		if err != nil {
			return 0, 0, fmt.Errorf("list the objects: %w", err)
		}
		objects++
		bytes += ref.Size
	}
	return objects, bytes, nil
}
