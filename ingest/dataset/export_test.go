package dataset

// Exported for the tests of package dataset_test (DuckDB).
var (
	GenLog     = genLog
	TestHour0  = hour0
	WriteBench = writeBenchCorpus
)
