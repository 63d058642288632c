package dataset

// Exported for the tests of package dataset_test (DuckDB).
var (
	GenLog     = genLog
	TestHour0  = hour0
	WriteBench = writeBenchCorpus
)

// Fields33 is the #Fields header of the generated logs.
const Fields33 = fields33

// WithStepHook returns o with a function called at the end of each step
// of a checkpoint (applyCheckpoint), in the writer's goroutine.
func WithStepHook(o Options, f func(step string)) Options {
	o.stepHook = f
	return o
}
