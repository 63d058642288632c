// Package dataset writes parsed CloudFront log rows as a Hive-partitioned
// Parquet dataset and reads it back.
//
// Layout under the dataset root:
//
//	distributionid=<ID>/year=YYYY/month=MM/day=DD/hour=HH/<name>.parquet
//	_cflens/journal/<seq>.json          committed checkpoints (the manifest)
//	_cflens/journal/<seq>.pending.json  a checkpoint being written
//	_cflens/lease/<gen>.lease           the writing run's lease (lock.go)
//	_cflens/stage/.tmp-stage-*.tmp      rows of a large object being read (stage.go)
//
// and, beside a local dataset folder, .<name>.cflens-stage/ while a
// checkpoint replaces files (swap.go).
//
// Partitions follow the hour in which requests happened (the timestamp
// column, UTC), not the hour a log object was delivered. Athena and Hive
// skip names starting with "_" or "."; DuckDB's **/*.parquet glob skips
// nothing, so no file under the root ends in ".parquet" unless it is
// live: files being written and the staging files of large objects end
// in ".tmp", and the folders a replace builds live outside the root.
//
// One run writes a dataset at a time (Writer, lock.go). On a local folder
// a replace is one exchange of the distribution folder, so glob readers
// never see a row twice or miss one; on S3 it cannot be atomic: between
// the PUT of a merged file and the DELETE of the files it replaces (or
// until the next run opens a dataset whose run was killed there), a glob
// reader may see the replaced rows twice. Read lists files through the
// journal and never does.
//
// The Writer is an ingest.Sink and an ingest.Manifest. It buffers committed
// objects and writes them in checkpoints: one file per partition per
// checkpoint, named from a digest of the (key, ETag) set of the source
// objects whose rows it holds, so writing the same objects again gives the
// same names and replaces files instead of adding duplicates. The journal
// is the commit point; see Writer for the order of steps and how a crashed
// run is rolled back or forward when the dataset is next opened. An
// object whose rows outgrow Options.StageBytes is staged in temporary
// Parquet files as it is read, so that memory does not grow with the size
// of an object (stage.go).
//
// Files hold row groups of Options.RowGroupRows rows, zstd by default,
// strings dictionary-encoded but for the near-unique ones; the writer
// gives all the batches of a row group one dictionary per column, so that
// no column chunk falls back to plain pages (rowGroups), and encodes the
// columns of a row group in parallel (columnFile). Read decodes flat
// columns with the column chunk readers and dictionary pages by their
// indices (flatBatches, dictChunk), into buffers it recycles from batch
// to batch, and other files with pqarrow.
//
// Data goes through Store (whole-object Put, Get, List, Delete), with a
// local folder implementation here (DirStore) and an S3 one in
// ingest/s3store. The package imports neither the AWS SDK nor the parser.
package dataset
