package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/spf13/cobra"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
)

// newParquetCeilingCmd is the hidden parquet-ceiling-worker subcommand:
// the Parquet counterpart of ceiling-worker.
func newParquetCeilingCmd() *cobra.Command {
	var workers int
	cmd := &cobra.Command{
		Use:    "parquet-ceiling-worker DATASET",
		Short:  "Read the columns an analysis reads from a dataset, nothing aggregated (the ceiling of any analysis from it by cflens's reader)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			adviseHugePages()
			c, err := runParquetCeiling(cmd.Context(), args[0], workers)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(c)
		},
	}
	cmd.Flags().IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "files read at once")
	return cmd
}

// runParquetCeiling reads the dataset in dir as cflens analyze --dataset
// does: the aggregator's columns, dictionary strings kept as dictionaries,
// dataset.ReadParallel with the same number of readers. Its sink touches
// every value it is handed (timestamps, statuses, dictionary indices) and
// counts rows, but aggregates nothing, so no analysis from the dataset
// with this reader can be faster on the same cores.
func runParquetCeiling(ctx context.Context, dir string, workers int) (workerCounts, error) {
	st, err := dataset.OpenDirStore(dir)
	if err != nil {
		return workerCounts{}, err
	}
	agg, err := analyze.NewAggregator(analyze.DefaultOptions())
	if err != nil {
		return workerCounts{}, err
	}
	cols := agg.Columns()
	if err := agg.Release(); err != nil {
		return workerCounts{}, err
	}
	s := &touchSink{}
	ro := dataset.ReadOptions{Columns: cols, DictStrings: true}
	if _, err := dataset.ReadParallel(ctx, st, ro, workers, s); err != nil {
		return workerCounts{}, fmt.Errorf("read dataset %s: %w", dir, err)
	}
	if s.rows.Load() == 0 {
		return workerCounts{}, fmt.Errorf("read dataset %s: no row", dir)
	}
	return workerCounts{Lines: s.rows.Load()}, nil
}

// touchSink adds up every value of the batches it is handed (into sum,
// which nothing reads: its atomic adds keep the loops from being
// optimized away), and counts the rows of committed objects. Objects may
// arrive from several readers at once.
type touchSink struct{ rows, sum atomic.Int64 }

func (s *touchSink) Begin(context.Context, ingest.ObjectRef) (ingest.ObjectSink, error) {
	return &touchObject{s: s}, nil
}

func (s *touchSink) Close(context.Context) error { return nil }

type touchObject struct {
	s         *touchSink
	rows, sum int64
}

func (o *touchObject) Write(b arrow.RecordBatch) error {
	for _, c := range b.Columns() {
		switch a := c.(type) {
		case *array.Dictionary:
			for _, v := range a.Indices().(*array.Int32).Int32Values() {
				o.sum += int64(v)
			}
			o.sum += int64(a.Dictionary().Len())
		case *array.Int32:
			for _, v := range a.Int32Values() {
				o.sum += int64(v)
			}
		case *array.Timestamp:
			for _, v := range a.TimestampValues() {
				o.sum += int64(v)
			}
		case *array.String:
			o.sum += int64(len(a.ValueBytes()))
		default:
			return fmt.Errorf("parquet ceiling: column of type %s", c.DataType())
		}
	}
	o.rows += b.NumRows()
	return nil
}

func (o *touchObject) Commit() error {
	o.s.rows.Add(o.rows)
	o.s.sum.Add(o.sum)
	return nil
}

func (o *touchObject) Abort() {}
