package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/cflens/cflens/analyze/report"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

type headOptions struct {
	src     sourceOptions
	n       int
	columns []string
	json    bool
}

func newHeadCmd(d *deps) *cobra.Command {
	o := &headOptions{}
	cmd := &cobra.Command{
		Use:   "head [SRC…]",
		Short: "Print the first parsed rows of some logs",
		Long: `Parse logs and print their first rows, one column per line block (or one JSON
object per row with --json), to see how cflens reads a file.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.src.sources = args
			return runHead(cmd.Context(), o, d.streams(cmd))
		},
	}
	bindSourceFlags(cmd.Flags(), &o.src)
	d.aws(&o.src.aws)
	cmd.Flags().IntVarP(&o.n, "rows", "n", 10, "rows to print")
	cmd.Flags().StringSliceVarP(&o.columns, "columns", "c", nil, "columns to print (default: all)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON lines")
	return cmd
}

func runHead(ctx context.Context, o *headOptions, s *IOStreams) error {
	stdout := s.Out
	rs, err := resolveSources(ctx, &o.src)
	if err != nil {
		return err
	}
	var cols []int
	for _, name := range o.columns {
		i := schema.Index(name)
		if i < 0 {
			return usage.Errorf("column names are those of the schema, e.g. sc_status, cs_uri_stem", "unknown column %q", name)
		}
		cols = append(cols, i)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink := &headSink{w: w, n: o.n, cols: cols, json: o.json, cancel: cancel}
	opts := ingest.DefaultOptions()
	opts.Workers = 1
	opts.From, opts.To = rs.from, rs.to
	opts.Roles = rs.roles
	rs.setParse(&opts)
	opts.MaxRejectRate = -1
	_, err = ingest.Run(ctx, opts, rs.sources, sink)
	if sink.printed >= o.n {
		return nil // stopped on purpose
	}
	return err
}

// headSink prints rows as they come and cancels the run when it has
// printed enough.
type headSink struct {
	mu      sync.Mutex
	w       *bufio.Writer
	n       int
	printed int
	cols    []int
	json    bool
	cancel  context.CancelFunc
}

func (h *headSink) Columns() []int { return h.cols }

func (h *headSink) Begin(context.Context, ingest.ObjectRef) (ingest.ObjectSink, error) {
	return headObject{h}, nil
}

func (h *headSink) Close(context.Context) error { return h.w.Flush() }

type headObject struct{ h *headSink }

func (o headObject) Write(b arrow.RecordBatch) error {
	h := o.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for row := 0; row < int(b.NumRows()) && h.printed < h.n; row++ {
		if h.json {
			m := make(map[string]any, b.NumCols())
			for i, f := range b.Schema().Fields() {
				if c := b.Column(i); c.IsValid(row) {
					m[f.Name] = c.GetOneForMarshal(row)
				} else {
					m[f.Name] = nil
				}
			}
			line, err := json.Marshal(m)
			if err != nil {
				return err
			}
			h.w.Write(append(line, '\n'))
		} else {
			fmt.Fprintf(h.w, "-- row %d\n", h.printed+1)
			for i, f := range b.Schema().Fields() {
				v := "NULL"
				if c := b.Column(i); c.IsValid(row) {
					v = report.TerminalSafe(c.ValueStr(row))
				}
				fmt.Fprintf(h.w, "%-28s %s\n", f.Name, strings.TrimSpace(v))
			}
		}
		h.printed++
	}
	if h.printed >= h.n {
		h.cancel()
	}
	return nil
}

func (headObject) Commit() error { return nil }
func (headObject) Abort()        {}
