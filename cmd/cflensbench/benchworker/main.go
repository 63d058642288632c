// Command benchworker does the heavy work of the cflens benchmark suite
// (cmd/cflensbench) in processes of its own: it writes the generated corpus
// (ingest/loggen), and runs the DuckDB measurements over it. DuckDB is cgo
// with a large static library; keeping it here keeps it out of the cflens
// binary, and keeping both out of the runner keeps the runner small, which
// matters because on Linux every child the runner starts inherits the
// runner's peak RSS in its own ru_maxrss.
//
//	benchworker corpus --dir DIR --lines N --files N --seed N
//	benchworker duckdb --query groupby|copy|lines|version [--threads N] [--out FILE] FILE…
//	benchworker duckdb --query groupby-parquet [--threads N] DIR
//
// Each prints one JSON object on stdout.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/schema"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchworker:", err)
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		return 2, errors.New("usage: benchworker corpus|duckdb [flags]")
	}
	var (
		out any
		err error
	)
	switch args[0] {
	case "corpus":
		out, err = runCorpus(ctx, args[1:])
	case "duckdb":
		out, err = runDuckDBCmd(ctx, args[1:])
	default:
		return 2, fmt.Errorf("unknown command %q (want corpus or duckdb)", args[0])
	}
	var uerr usageError
	if errors.As(err, &uerr) {
		return 2, err
	}
	if err != nil {
		return 1, err
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return 1, err
	}
	return 0, nil
}

// usageError is a mistake in the command line (exit 2).
type usageError struct{ error }

// corpusResult is what "corpus" prints: the corpus's marker, and the
// weight of the continuous-deployment policy it was generated with.
type corpusResult struct {
	*loggen.Corpus
	Reused bool    `json:"reused"`
	Weight float64 `json:"weight"`
}

func runCorpus(ctx context.Context, args []string) (*corpusResult, error) {
	fs := flag.NewFlagSet("corpus", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder of the corpus")
	lines := fs.Int64("lines", 0, "log lines")
	files := fs.Int("files", 0, ".gz files")
	seed := fs.Uint64("seed", 1, "seed")
	realistic := fs.Bool("realistic", false, "realistic corpus")
	probes := fs.Float64("probe-share", loggen.DefaultProbeShare, "share of scanner probes (realistic corpus)")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if *dir == "" || *lines < 1 || *files < 1 {
		return nil, usageError{errors.New("corpus needs --dir, --lines and --files")}
	}
	c, err := loggen.WriteCorpus(ctx, *dir, loggen.CorpusOptions{Lines: *lines, Files: *files, Seed: *seed, Realistic: *realistic, ProbeShare: *probes})
	if err != nil {
		return nil, err
	}
	return &corpusResult{Corpus: c, Reused: c.Reused, Weight: loggen.DefaultWeight}, nil
}

// duckdbOptions are the flags of "duckdb".
type duckdbOptions struct {
	query   string // groupby, groupby-parquet, copy, lines or version
	threads int
	out     string   // Parquet file written by copy
	files   []string // .gz files; for groupby-parquet, one cflens dataset folder
}

// workerCounts is what "duckdb" prints.
type workerCounts struct {
	// Lines are the rows grouped or copied.
	Lines int64 `json:"lines"`
	// Version is DuckDB's, for the report.
	Version string `json:"version,omitempty"`
}

func runDuckDBCmd(ctx context.Context, args []string) (workerCounts, error) {
	o := &duckdbOptions{}
	fs := flag.NewFlagSet("duckdb", flag.ContinueOnError)
	fs.StringVar(&o.query, "query", "groupby", "groupby, groupby-parquet, copy, lines or version")
	fs.IntVar(&o.threads, "threads", runtime.GOMAXPROCS(0), "DuckDB threads")
	fs.StringVar(&o.out, "out", "", "Parquet file that copy writes")
	if err := fs.Parse(args); err != nil {
		return workerCounts{}, usageError{err}
	}
	o.files = fs.Args()
	return runDuckDB(ctx, o)
}

func runDuckDB(ctx context.Context, o *duckdbOptions) (workerCounts, error) {
	if o.query != "version" && len(o.files) == 0 {
		return workerCounts{}, usageError{errors.New("no file to read")}
	}
	q, err := duckdbQuery(o.query, o.files, o.out)
	if err != nil {
		return workerCounts{}, usageError{err}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return workerCounts{}, fmt.Errorf("open duckdb: %w", err)
	}
	defer db.Close()
	// One connection, so that SET applies to the query.
	conn, err := db.Conn(ctx)
	if err != nil {
		return workerCounts{}, fmt.Errorf("open duckdb: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET threads = %d", max(1, o.threads))); err != nil {
		return workerCounts{}, fmt.Errorf("duckdb threads: %w", err)
	}
	var c workerCounts
	switch o.query {
	case "version":
		if err := conn.QueryRowContext(ctx, q).Scan(&c.Version); err != nil {
			return c, fmt.Errorf("duckdb version: %w", err)
		}
	case "groupby", "groupby-parquet":
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			return c, fmt.Errorf("duckdb group by: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var dist, date, hour, status, result, good sql.NullString
			var n int64
			if err := rows.Scan(&dist, &date, &hour, &status, &result, &good, &n); err != nil {
				return c, fmt.Errorf("duckdb group by: %w", err)
			}
			c.Lines += n
		}
		if err := rows.Err(); err != nil {
			return c, fmt.Errorf("duckdb group by: %w", err)
		}
	case "lines":
		if err := conn.QueryRowContext(ctx, q).Scan(&c.Lines); err != nil {
			return c, fmt.Errorf("duckdb lines: %w", err)
		}
	case "copy":
		res, err := conn.ExecContext(ctx, q)
		if err != nil {
			return c, fmt.Errorf("duckdb copy: %w", err)
		}
		if c.Lines, err = res.RowsAffected(); err != nil {
			return c, fmt.Errorf("duckdb copy: %w", err)
		}
	}
	return c, nil
}

// duckdbQuery returns the SQL of one DuckDB measurement. The group-by is
// the core of the cflens analysis: requests by distribution, hour, status,
// result type and path class (error paths being the stems that never got
// a 2xx or 3xx); groupby-parquet runs it on a dataset that cflens ingest
// wrote (its one file argument is the dataset's folder), the counterpart
// of cflens analyze --dataset. The copy writes every field, typed as in
// the cflens schema, plus the timestamp and the file name, to zstd
// Parquet. Lines counts the lines read as one text column each (a
// delimiter that no line holds): what DuckDB spends to inflate and split
// the files, with no field parsed, its counterpart of the gzip ceiling.
func duckdbQuery(kind string, files []string, out string) (string, error) {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlString(f)
	}
	read := fmt.Sprintf("read_csv([%s], delim='\\t', header=false, skip=2, quote='', escape='', "+
		"nullstr='-', compression='gzip', auto_detect=false, filename=true, columns={%s})",
		strings.Join(quoted, ", "), duckdbColumns())
	switch kind {
	case "version":
		return "SELECT version()", nil
	case "groupby":
		return groupBySQL(`regexp_extract(filename, '([A-Z0-9]+)\.[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}\.', 1)`, read), nil
	case "groupby-parquet":
		if len(files) != 1 {
			return "", fmt.Errorf("duckdb groupby-parquet reads one dataset folder, not %d arguments", len(files))
		}
		// The data files of a dataset are its partitions' Parquet files;
		// the distribution is a column of every row.
		glob := filepath.Join(files[0], "distributionid=*", "**", "*.parquet")
		return groupBySQL("distribution_id", fmt.Sprintf("read_parquet(%s, hive_partitioning=false)", sqlString(glob))), nil
	case "lines":
		return fmt.Sprintf("SELECT count(*) FROM read_csv([%s], delim='\x01', header=false, skip=2, quote='', escape='', "+
			"compression='gzip', auto_detect=false, strict_mode=false, columns={'line': 'VARCHAR'})", strings.Join(quoted, ", ")), nil
	case "copy":
		if out == "" {
			return "", fmt.Errorf("duckdb copy needs --out")
		}
		return fmt.Sprintf(`COPY (SELECT "date" + CAST("time" AS TIME) AS "timestamp", *
FROM %s) TO %s (FORMAT parquet, COMPRESSION zstd)`, read, sqlString(out)), nil
	}
	return "", fmt.Errorf("unknown duckdb query %q (want groupby, groupby-parquet, copy, lines or version)", kind)
}

// groupBySQL is the group-by over rows read by from, whose distribution
// is the expression dist. The path classification is as cflens does it:
// a stem is an error path when it never got a 2xx or 3xx.
func groupBySQL(dist, from string) string {
	return `WITH t AS (
	SELECT ` + dist + ` AS distribution_id,
		CAST("date" AS VARCHAR) AS day, substr("time", 1, 2) AS hour, sc_status, x_edge_result_type, cs_uri_stem
	FROM ` + from + `
), stems AS (
	SELECT cs_uri_stem, max(CASE WHEN sc_status BETWEEN 200 AND 399 THEN 1 ELSE 0 END) AS good
	FROM t GROUP BY cs_uri_stem
)
SELECT distribution_id, day, hour, sc_status, x_edge_result_type, good, count(*) AS n
FROM t JOIN stems USING (cs_uri_stem)
GROUP BY ALL`
}

func duckdbColumns() string {
	fields := loggen.LegacyFields()
	parts := make([]string, len(fields))
	for i, f := range fields {
		typ := "string"
		if c := schema.Lookup(f); c >= 0 {
			typ = schema.AthenaType(schema.Col(c).Kind)
		}
		parts[i] = sqlString(schema.ColumnName(f)) + ": " + sqlString(typ)
	}
	return strings.Join(parts, ", ")
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
