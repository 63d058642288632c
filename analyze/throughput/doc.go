// Package throughput holds the benchmark that measures how fast cflens
// analyzes logs, straight from .gz files and from its Parquet dataset,
// against the gzip ceiling and DuckDB's read_csv + GROUP BY over the same
// files, all in one run so that the ratios compare like with like. It has
// no code of its own; DuckDB stays in its test binary only.
package throughput
