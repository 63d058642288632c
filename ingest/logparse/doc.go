// Package logparse turns CloudFront standard access logs (W3C extended
// format, legacy or v2) into Arrow record batches of the cflens schema.
// Standard logging v2 JSON lines (NewJSONReader) and Parquet
// (NewParquetReader) give the same rows through the same conversions;
// Open picks the reader for an object as stored (see format.go).
//
// A Reader takes plain text from an io.Reader (see inflate.Decompress for
// gzip), maps columns by the names of each #Fields header, and ends every
// input line as exactly one of: a header line, a row, a rejected line
// (counted by reason, with the first samples kept), or a row outside the
// requested time range. Only I/O errors stop it.
//
// The files: options.go holds the package's vocabulary (reject reasons,
// Stats, options), w3c.go the W3C reader, json.go and parquet.go the v2
// JSON and Parquet readers built on it, format.go format detection and
// Open, append.go and decode.go the column appenders and conversions.
package logparse
