package dataset

// Exported for the tests of package dataset_test (DuckDB).
var (
	GenLog     = genLog
	TestHour0  = hour0
	WriteBench = writeBenchCorpus
)

// Fields33 is the #Fields header of the generated logs.
const Fields33 = fields33
