package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
	"github.com/cflens/cflens/queries"
	cfathena "github.com/cflens/cflens/queries/athena"
)

func newAthenaCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "athena",
		Short: "Print the Athena DDL and SQL for a cflens dataset, and convert raw logs on Athena",
	}
	cmd.AddCommand(newAthenaDDLCmd(d), newAthenaSQLCmd(d), newAthenaConvertCmd(d))
	return cmd
}

type athenaDDLOptions struct {
	location      string
	database      string
	table         string
	distributions []string
	years         string
	raw           bool
	// tableSet is whether --table was given (with --raw, its default is
	// the raw table's name).
	tableSet bool
	// now stands in for the clock in tests; nil means time.Now.
	now func() time.Time
}

func newAthenaDDLCmd(d *deps) *cobra.Command {
	o := &athenaDDLOptions{}
	cmd := &cobra.Command{
		Use:   "ddl --location s3://bucket/prefix/ --distribution ID… [--database DB] [--table T] [--years FROM[-TO]] | --raw --location s3://logs/prefix/",
		Short: "Print CREATE EXTERNAL TABLE for the dataset, with partition projection, or for the raw logs",
		Long: `Print the Athena CREATE EXTERNAL TABLE statement for a dataset written by
'cflens ingest --out s3://bucket/prefix/'. Partitions are projected, so no
MSCK REPAIR or crawler is needed: the distribution IDs are an enum, years
a date projection from --years FROM (default five years ago) to the
current year whenever a query runs (NOW), or to TO with --years FROM-TO,
months, days and hours ranges, and the storage location template follows
the dataset's distributionid=/year=/month=/day=/hour= layout.

With --raw, print AWS's documented table over the raw legacy access logs
under --location instead (--table defaults to cloudfront_standard_logs),
which 'cflens athena convert' copies into the dataset table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.tableSet = cmd.Flags().Changed("table")
			return runAthenaDDL(cmd.Context(), o, d.streams(cmd))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.location, "location", "", "S3 prefix of the dataset (s3://bucket/prefix/)")
	f.StringVar(&o.database, "database", "default", "Athena database")
	f.StringVar(&o.table, "table", "cflens_logs", "table name")
	f.StringSliceVar(&o.distributions, "distribution", nil, "distribution ID of the dataset (repeat or comma-separate)")
	f.StringVar(&o.years, "years", "", "projected years, FROM (to the current year) or FROM-TO (default: from five years ago)")
	f.BoolVar(&o.raw, "raw", false, "print the table over the raw legacy logs under --location")
	return cmd
}

func runAthenaDDL(ctx context.Context, o *athenaDDLOptions, s *IOStreams) error {
	w := s.Out
	if o.now == nil {
		o.now = s.Now
	}
	if o.raw {
		return runAthenaRawDDL(o, w)
	}
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
		now := time.Now
		if o.now != nil {
			now = o.now
		}
		p.YearFrom = now().UTC().Year() - 5
	}
	sql, err := queries.Render("ddl", p)
	if err != nil {
		return usage.Errorf("", "%v", err)
	}
	_, err = io.WriteString(w, sql)
	return err
}

type athenaSQLOptions struct {
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
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return runAthenaSQL(cmd.Context(), o, name, d.streams(cmd))
		},
	}
	cmd.Flags().BoolVar(&o.list, "list", false, "list the queries")
	cmd.Flags().StringArrayVar(&o.params, "param", nil, "parameter key=value (repeatable)")
	return cmd
}

func runAthenaSQL(ctx context.Context, o *athenaSQLOptions, name string, s *IOStreams) error {
	w := s.Out
	if o.list {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, q := range queries.List() {
			fmt.Fprintf(tw, "%s\t%s\n", q.Name, q.Description)
		}
		return tw.Flush()
	}
	switch name {
	case "ddl", "raw_ddl":
		return usage.Errorf("run 'cflens athena ddl --help'", "the DDL has its own command")
	case "convert":
		return usage.Errorf("run 'cflens athena convert --help'", "the conversion has its own command")
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

// runAthenaRawDDL prints the table over the raw legacy logs.
func runAthenaRawDDL(o *athenaDDLOptions, w io.Writer) error {
	if !strings.HasPrefix(o.location, "s3://") {
		return usage.Errorf("the raw table reads the logs' S3 prefix: --raw --location s3://bucket/prefix/", "missing or non-s3:// --location %q", o.location)
	}
	table := o.table
	if !o.tableSet {
		table = "cloudfront_standard_logs"
	}
	sql, err := queries.Render("raw_ddl", queries.Params{Database: o.database, Convert: queries.ConvertParams{RawTable: table, RawLocation: o.location}})
	if err != nil {
		return usage.Errorf("", "%v", err)
	}
	_, err = io.WriteString(w, sql)
	return err
}

// athenaEngineOptions are the flags that run SQL on Athena (analyze
// --engine athena, athena convert --run). A config file
// (--athena-config) fills in what the flags leave empty.
type athenaEngineOptions struct {
	config       string
	database     string
	table        string
	workgroup    string
	catalog      string
	output       string
	endpoint     string
	maxScan      string
	forceScan    bool
	queryTimeout time.Duration
	concurrency  int
}

// athenaConfig is the --athena-config file (YAML).
type athenaConfig struct {
	Database       string `yaml:"database"`
	Table          string `yaml:"table"`
	Workgroup      string `yaml:"workgroup"`
	Catalog        string `yaml:"catalog"`
	OutputLocation string `yaml:"output_location"`
	Endpoint       string `yaml:"endpoint"`
	// Location is the dataset's S3 prefix, which the scan estimate lists.
	Location string `yaml:"location"`
}

func bindAthenaEngineFlags(fs *pflag.FlagSet, a *athenaEngineOptions) {
	fs.StringVar(&a.config, "athena-config", "", "YAML file of Athena settings: database, table, workgroup, catalog, output_location, endpoint, location (the dataset's s3:// prefix); flags take precedence")
	fs.StringVar(&a.database, "athena-database", "", "Athena database of the dataset table (default: default)")
	fs.StringVar(&a.table, "athena-table", "", "Athena table of the dataset (default: cflens_logs)")
	fs.StringVar(&a.workgroup, "athena-workgroup", "", "Athena workgroup (default: primary)")
	fs.StringVar(&a.catalog, "athena-catalog", "", "Athena data catalog (default: AwsDataCatalog)")
	fs.StringVar(&a.output, "athena-output", "", "S3 prefix for Athena's result files, s3://bucket/prefix/ (default: the workgroup's)")
	fs.StringVar(&a.endpoint, "athena-endpoint", "", "URL of the Athena endpoint (default: the region's; AWS_ENDPOINT_URL_ATHENA works too)")
	fs.StringVar(&a.maxScan, "max-scan", "1TB", "refuse to run Athena queries that may scan more than this (e.g. 200GB, 2TB)")
	fs.BoolVar(&a.forceScan, "force-scan", false, "run Athena queries whatever they may scan, without an estimate")
	fs.DurationVar(&a.queryTimeout, "query-timeout", 30*time.Minute, "stop an Athena query that runs longer than this, and fail")
	fs.IntVar(&a.concurrency, "athena-concurrency", 4, "Athena queries run at once")
}

// resolve merges the config file into the flags and fills in defaults;
// location is the dataset prefix from --dataset or the config file.
func (a athenaEngineOptions) resolve(dataset string) (athenaEngineOptions, string, error) {
	var c athenaConfig
	if a.config != "" {
		f, err := os.Open(a.config)
		if err != nil {
			return a, "", fmt.Errorf("read athena config: %w", err)
		}
		dec := yaml.NewDecoder(f)
		dec.KnownFields(true)
		err = dec.Decode(&c)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return a, "", usage.Errorf("the keys are database, table, workgroup, catalog, output_location, endpoint and location", "athena config %s: %v", a.config, err)
		}
	}
	pick := func(flag, conf, def string) string {
		switch {
		case flag != "":
			return flag
		case conf != "":
			return conf
		}
		return def
	}
	a.database = pick(a.database, c.Database, "default")
	a.table = pick(a.table, c.Table, "cflens_logs")
	a.workgroup = pick(a.workgroup, c.Workgroup, "primary")
	a.catalog = pick(a.catalog, c.Catalog, "")
	a.output = pick(a.output, c.OutputLocation, "")
	a.endpoint = pick(a.endpoint, c.Endpoint, "")
	if a.output != "" && !strings.HasPrefix(a.output, "s3://") {
		return a, "", usage.Errorf("Athena writes its results to S3: --athena-output s3://bucket/prefix/", "output location %q is not an s3:// prefix", a.output)
	}
	if a.concurrency <= 0 {
		return a, "", usage.Errorf("", "--athena-concurrency %d: want at least 1", a.concurrency)
	}
	if a.queryTimeout < 0 {
		return a, "", usage.Errorf("", "--query-timeout %s is negative", a.queryTimeout)
	}
	return a, pick(dataset, c.Location, ""), nil
}

// engine returns the Athena engine for a and the AWS flags.
func (a athenaEngineOptions) engine(ctx context.Context, aws awsOptions, logger *slog.Logger) (*cfathena.Engine, error) {
	if a.endpoint != "" {
		if err := checkEndpoint(a.endpoint, aws.allowInsecureEndpoint); err != nil {
			return nil, err
		}
	}
	cfg, err := loadAthenaAWSConfig(ctx, aws)
	if err != nil {
		return nil, err
	}
	o := cfathena.DefaultOptions()
	o.Database, o.Catalog, o.Workgroup, o.OutputLocation = a.database, a.catalog, a.workgroup, a.output
	o.QueryTimeout, o.Concurrency, o.Logger = a.queryTimeout, a.concurrency, logger
	return cfathena.New(cfathena.NewClient(cfg, a.endpoint), o)
}

// loadAthenaAWSConfig loads the AWS configuration as for S3 (default
// credential chain, --profile, --region, standard retries, no SDK log
// lines).
func loadAthenaAWSConfig(ctx context.Context, a awsOptions) (sdkaws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryMode(sdkaws.RetryModeStandard),
		config.WithLogger(logging.Nop{}),
	}
	if a.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.profile))
	}
	if a.region != "" {
		opts = append(opts, config.WithRegion(a.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		return cfg, usage.Errorf("set --region, AWS_REGION, or a region in the AWS profile", "no aws region configured")
	}
	return cfg, nil
}

// parseSize reads a byte size such as 500GB or 2TB (powers of 1024, as
// Athena bills), or a plain number of bytes.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	for i, u := range []string{"K", "M", "G", "T", "P"} {
		if rest, ok := strings.CutSuffix(t, u); ok {
			t, mult = rest, int64(1)<<(10*(i+1))
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes or e.g. 500GB, 2TB", s)
	}
	return int64(v * float64(mult)), nil
}

// formatBytes renders a byte count in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// checkScan prints the estimate and refuses it above --max-scan.
func (a athenaEngineOptions) checkScan(scan cfathena.Scan, stderr io.Writer) error {
	fmt.Fprintf(stderr, "athena: %d queries over %d objects (%s) in the pruned partitions: at most %s scanned, at most USD %.4f\n",
		scan.Queries, scan.Objects, formatBytes(scan.Bytes), formatBytes(scan.Upper()), scan.Cost())
	limit, err := parseSize(a.maxScan)
	if err != nil {
		return usage.Errorf("", "--max-scan: %v", err)
	}
	if scan.Upper() > limit && !a.forceScan {
		return usage.Errorf("narrow --from/--to or the distributions, raise --max-scan, or give --force-scan",
			"the queries may scan %s, over --max-scan %s", formatBytes(scan.Upper()), a.maxScan)
	}
	return nil
}

// reportExecutions prints what each query scanned and cost.
func reportExecutions(stderr io.Writer, xs []cfathena.Execution) {
	var (
		total int64
		cost  float64
	)
	for _, x := range xs {
		fmt.Fprintf(stderr, "athena: %-18s %s  scanned %s in %s, USD %.6f\n", x.Name, x.ID, formatBytes(x.ScannedBytes), x.EngineTime, x.Cost())
		total += x.ScannedBytes
		cost += x.Cost()
	}
	fmt.Fprintf(stderr, "athena: %d queries scanned %s, USD %.6f\n", len(xs), formatBytes(total), cost)
}

// athenaRunError turns an interruption into an incomplete run (exit 3);
// other errors stay as they are (exit 1).
func athenaRunError(err error) error {
	var ie *cfathena.InterruptedError
	if errors.As(err, &ie) {
		return fmt.Errorf("%w: %w", ingest.ErrIncomplete, err)
	}
	return err
}

// analyzeOnEngine runs the analysis on a remote engine: the tally
// queries on Athena over the dataset's table, the statistics and reports
// here.
func analyzeOnEngine(ctx context.Context, o *analyzeOptions, opts analyze.Options, stderr io.Writer) (*analyze.Result, error) {
	if o.engine != "athena" {
		return nil, usage.Errorf("engines are local and athena", "unknown --engine %q", o.engine)
	}
	if len(o.src.sources) > 0 {
		return nil, usage.Errorf("with --engine athena, give the dataset's table (--athena-database, --athena-table) and its location (--dataset s3://…)", "--engine athena reads the dataset's Athena table, not log sources")
	}
	a, location, err := o.athena.resolve(o.dataset)
	if err != nil {
		return nil, err
	}
	roles, err := datasetRoles(o)
	if err != nil {
		return nil, err
	}
	setRoles(&opts, roles)
	trailErr, err := trailTimeline(ctx, o, &opts, roles, stderr)
	if err != nil {
		return nil, err
	}
	plan, err := analyze.NewPlan(opts)
	if err != nil {
		return nil, err
	}
	dists := slices.Sorted(maps.Keys(roles))
	stmts, err := cfathena.TallyStatements(plan, cfathena.TableRef{Database: a.database, Table: a.table}, dists)
	if err != nil {
		return nil, usage.Errorf("", "%v", err)
	}
	scan := cfathena.Scan{Queries: len(stmts)}
	switch {
	case location != "":
		st, err := openDatasetToRead(ctx, location, o.src.aws)
		if err != nil {
			return nil, err
		}
		if scan, err = cfathena.EstimateScan(ctx, st, opts.From, opts.To, dists, len(stmts)); err != nil {
			return nil, fmt.Errorf("estimate the scan of %s: %w", location, err)
		}
		if err := a.checkScan(scan, stderr); err != nil {
			return nil, err
		}
	case !a.forceScan:
		return nil, usage.Errorf("give the dataset's location (--dataset s3://bucket/prefix/ or location in --athena-config), or --force-scan to run without an estimate",
			"cannot estimate what the Athena queries scan")
	}
	e, err := a.engine(ctx, o.src.aws, opts.Logger)
	if err != nil {
		return nil, err
	}
	res, xs, err := cfathena.Analyze(ctx, e, plan, stmts, scan.Objects)
	if xs != nil {
		reportExecutions(stderr, xs)
	}
	if err != nil {
		return nil, athenaRunError(err)
	}
	if trailErr != nil {
		res.Warnings = append(res.Warnings, "the CloudTrail record could not be read whole: "+trailErr.Error())
	}
	return res, trailErr
}

type athenaConvertOptions struct {
	database, table, rawTable string
	from, to                  string
	production, staging       []string
	distributions             []string
	run                       bool
	rawLocation               string
	engine                    athenaEngineOptions
	aws                       awsOptions
}

func newAthenaConvertCmd(d *deps) *cobra.Command {
	o := &athenaConvertOptions{}
	cmd := &cobra.Command{
		Use:   "convert --from DAY --to DAY [--production ID] [--staging ID] [--run]",
		Short: "Print (or run) the INSERT INTO statements that copy the raw log table into the dataset table",
		Long: `Print the Athena statements that copy the rows of the raw log table (see
'cflens athena ddl --raw') into the cflens dataset table (see 'cflens athena
ddl'), in the dataset's schema and partitions: one INSERT INTO per UTC day
of [--from, --to), since one statement writes at most 100 partitions (24
hours of up to 4 distributions; give --distribution to split more). The
timestamp is computed from date and time as ingest computes it, the role
from --production and --staging, the source is the object ("$path"), and
line is NULL. Then 'cflens analyze --dataset s3://…' and '--engine athena'
both read what Athena wrote.

Cost: the raw table has no partitions (legacy log objects sit side by side
under one prefix), so each day's statement reads all of the raw logs:
a conversion scans about days × the raw logs' size, at USD 5 per TB. With
--run and --raw-location the estimate is printed first and checked
against --max-scan.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAthenaConvert(cmd.Context(), o, d.streams(cmd))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.database, "database", "default", "Athena database of both tables")
	f.StringVar(&o.table, "table", "cflens_logs", "the dataset table written to")
	f.StringVar(&o.rawTable, "raw-table", "cloudfront_standard_logs", "the raw log table read from")
	f.StringVar(&o.from, "from", "", "first UTC day to copy (2025-09-10)")
	f.StringVar(&o.to, "to", "", "day after the last one to copy")
	f.StringSliceVar(&o.production, "production", nil, "distribution ID(s) of production (the role column)")
	f.StringSliceVar(&o.staging, "staging", nil, "distribution ID(s) of staging (the role column)")
	f.StringSliceVar(&o.distributions, "distribution", nil, "copy only these distributions, at most 4 per statement (more make more statements per day)")
	f.BoolVar(&o.run, "run", false, "run the statements on Athena instead of printing them")
	f.StringVar(&o.rawLocation, "raw-location", "", "S3 prefix of the raw logs, listed to estimate the scan (with --run)")
	bindAthenaEngineFlags(f, &o.engine)
	bindAWSFlags(f, &o.aws)
	return cmd
}

// convertStatements renders the day's INSERT statements of o.
func convertStatements(o *athenaConvertOptions) ([]cfathena.Statement, error) {
	from, err := time.Parse("2006-01-02", o.from)
	if err != nil {
		return nil, usage.Errorf("days look like 2025-09-10", "--from %q: want a day", o.from)
	}
	to, err := time.Parse("2006-01-02", o.to)
	if err != nil {
		return nil, usage.Errorf("days look like 2025-09-10", "--to %q: want a day", o.to)
	}
	if !from.Before(to) {
		return nil, usage.Errorf("", "--from %s is not before --to %s", o.from, o.to)
	}
	roles := map[string]string{}
	for role, ids := range map[string][]string{"production": o.production, "staging": o.staging} {
		for _, id := range ids {
			if !schema.IsDistributionID(id) {
				return nil, usage.Errorf("", "%q is not a distribution ID", id)
			}
			roles[id] = role
		}
	}
	groups := [][]string{nil}
	if ids := slices.Sorted(slices.Values(o.distributions)); len(ids) > 0 {
		groups = nil
		for chunk := range slices.Chunk(ids, queries.MaxDistributionsPerInsert) {
			groups = append(groups, chunk)
		}
	}
	var out []cfathena.Statement
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		for i, g := range groups {
			sql, err := queries.Render("convert", queries.Params{Database: o.database, Table: o.table,
				Convert: queries.ConvertParams{RawTable: o.rawTable, Day: day, Roles: roles, Distributions: g}})
			if err != nil {
				return nil, usage.Errorf("", "%v", err)
			}
			name := "convert " + day.Format("2006-01-02")
			if len(groups) > 1 {
				name += fmt.Sprintf(" part %d", i+1)
			}
			out = append(out, cfathena.Statement{Name: name, SQL: sql})
		}
	}
	return out, nil
}

func runAthenaConvert(ctx context.Context, o *athenaConvertOptions, s *IOStreams) error {
	stdout, stderr := s.Out, s.Err
	stmts, err := convertStatements(o)
	if err != nil {
		return err
	}
	if !o.run {
		for i, s := range stmts {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "-- %s\n%s;\n", s.Name, strings.TrimRight(s.SQL, "\n"))
		}
		return nil
	}
	a, _, err := o.engine.resolve("")
	if err != nil {
		return err
	}
	a.database = o.database
	switch {
	case o.rawLocation != "":
		st, err := openDatasetToRead(ctx, o.rawLocation, o.aws)
		if err != nil {
			return err
		}
		n, size, err := cfathena.EstimateObjects(ctx, st, "")
		if err != nil {
			return fmt.Errorf("estimate the scan of %s: %w", o.rawLocation, err)
		}
		if err := a.checkScan(cfathena.Scan{Objects: n, Bytes: size, Queries: len(stmts)}, stderr); err != nil {
			return err
		}
	case !a.forceScan:
		return usage.Errorf("give the raw logs' prefix (--raw-location s3://…) to estimate the scan, or --force-scan", "cannot estimate what the conversion scans")
	}
	e, err := a.engine(ctx, o.aws, newLogger(stderr, false))
	if err != nil {
		return err
	}
	xs, err := e.Run(ctx, stmts)
	if err != nil {
		return athenaRunError(err)
	}
	reportExecutions(stderr, xs)
	for _, x := range xs {
		rows := "?"
		if len(x.Result.Rows) == 1 && len(x.Result.Rows[0]) == 1 {
			rows = x.Result.Rows[0][0]
		}
		fmt.Fprintf(stdout, "%s\t%s rows\n", x.Name, rows)
	}
	return nil
}
