package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/queries"
)

func newAthenaCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "athena",
		Short: "Print the Athena DDL and analysis SQL for a cflens dataset",
	}
	cmd.AddCommand(newAthenaDDLCmd(d), newAthenaSQLCmd(d))
	return cmd
}

type athenaDDLOptions struct {
	location      string
	database      string
	table         string
	distributions []string
	years         string
}

func newAthenaDDLCmd(d *deps) *cobra.Command {
	o := &athenaDDLOptions{}
	cmd := &cobra.Command{
		Use:   "ddl --location s3://bucket/prefix/ --distribution ID… [--database DB] [--table T] [--years FROM-TO]",
		Short: "Print CREATE EXTERNAL TABLE for the dataset, with partition projection",
		Long: `Print the Athena CREATE EXTERNAL TABLE statement for a dataset written by
'cflens ingest --out s3://bucket/prefix/'. Partitions are projected, so no
MSCK REPAIR or crawler is needed: the distribution IDs are an enum, years
a range (--years, default the last five years to next year), months, days
and hours ranges, and the storage location template follows the dataset's
distributionid=/year=/month=/day=/hour= layout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAthenaDDL(cmd.Context(), o, d.streams(cmd))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.location, "location", "", "S3 prefix of the dataset (s3://bucket/prefix/)")
	f.StringVar(&o.database, "database", "default", "Athena database")
	f.StringVar(&o.table, "table", "cflens_logs", "table name")
	f.StringSliceVar(&o.distributions, "distribution", nil, "distribution ID of the dataset (repeat or comma-separate)")
	f.StringVar(&o.years, "years", "", "projected years, FROM-TO (default: five years ago to next year)")
	return cmd
}

func runAthenaDDL(ctx context.Context, o *athenaDDLOptions, s *IOStreams) error {
	if o.location == "" {
		return usage.Errorf("the DDL needs the dataset's S3 prefix, e.g. --location s3://bucket/cflens/", "missing --location")
	}
	if !strings.HasPrefix(o.location, "s3://") {
		return usage.Errorf("Athena reads from S3: --location s3://bucket/prefix/", "location %q is not an s3:// prefix", o.location)
	}
	if len(o.distributions) == 0 {
		return usage.Errorf("partition projection lists the distribution IDs: --distribution E1ABC… --distribution E2DEF…", "missing --distribution")
	}
	p := queries.Params{Database: o.database, Table: o.table, Location: o.location, Distributions: o.distributions}
	if o.years != "" {
		if err := p.SetParam("years=" + o.years); err != nil {
			return usage.Errorf("--years FROM-TO, e.g. 2024-2026", "%v", err)
		}
	} else {
		y := s.Now().UTC().Year()
		p.YearFrom, p.YearTo = y-5, y+1
	}
	sql, err := queries.Render("ddl", p)
	if err != nil {
		return usage.Errorf("", "%v", err)
	}
	_, err = io.WriteString(s.Out, sql)
	return err
}

type athenaSQLOptions struct {
	name   string // the query; empty with list
	list   bool
	params []string
}

func newAthenaSQLCmd(d *deps) *cobra.Command {
	o := &athenaSQLOptions{}
	cmd := &cobra.Command{
		Use:   "sql NAME [--param key=value…] | --list",
		Short: "Print an analysis query with its parameters filled in",
		Long: `Print one of the embedded analysis queries (Trino SQL for Athena; it also
runs on DuckDB over a local dataset) with its parameters filled in.

Parameters (--param key=value, repeatable):
  window=NAME,START,END   a configuration window, RFC 3339 times (repeat)
  database=DB, table=T    the Athena table (default default.cflens_logs)
  relation=EXPR           what to read FROM instead of the table, e.g.
                          read_parquet('ds/**/*.parquet', hive_partitioning = true)
  distributions=ID,ID     only these distributions
  tz=ZONE                 time zone of the hour of day (default UTC)`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.list && len(args) == 0 || !o.list && len(args) == 1 {
				return nil
			}
			return usage.Errorf("run 'cflens athena sql --list' to see the queries", "want one query name, or --list")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.name = args[0]
			}
			return runAthenaSQL(cmd.Context(), o, d.streams(cmd))
		},
	}
	cmd.Flags().BoolVar(&o.list, "list", false, "list the queries")
	cmd.Flags().StringArrayVar(&o.params, "param", nil, "parameter key=value (repeatable)")
	return cmd
}

func runAthenaSQL(ctx context.Context, o *athenaSQLOptions, s *IOStreams) error {
	name, w := o.name, s.Out
	if o.list {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, q := range queries.List() {
			fmt.Fprintf(tw, "%s\t%s\n", q.Name, q.Description)
		}
		return tw.Flush()
	}
	if name == "ddl" {
		return usage.Errorf("run 'cflens athena ddl --help'", "the DDL has its own command")
	}
	found := false
	for _, q := range queries.List() {
		found = found || q.Name == name
	}
	if !found {
		return usage.Errorf("run 'cflens athena sql --list' to see the queries", "unknown query %s", strconv.Quote(name))
	}
	var p queries.Params
	for _, kv := range o.params {
		if err := p.SetParam(kv); err != nil {
			return usage.Errorf("run 'cflens athena sql --help' for the parameters", "%v", err)
		}
	}
	sql, err := queries.Render(name, p)
	if err != nil {
		return usage.Errorf("run 'cflens athena sql --help' for the parameters", "%v", err)
	}
	_, err = io.WriteString(w, sql)
	return err
}
