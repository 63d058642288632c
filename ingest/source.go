// Package ingest moves CloudFront access logs from a source (S3 or a local
// folder) through the parser into a sink (the Parquet dataset, an Arrow
// file, the analyzer). The sources live in their own packages and
// implement Source; only the S3 one imports the AWS SDK.
package ingest

import (
	"context"
	"errors"
	"io"
	"iter"
	"runtime"
	"time"
)

// ObjectRef names one log object of a source.
type ObjectRef struct {
	// Key is the S3 key, or the path relative to the source's root folder
	// (slash-separated).
	Key  string
	Size int64
	// ETag identifies the object's content: the S3 ETag, or for local
	// files a digest of their bytes (empty when the source was opened
	// without digests: dirsource.WithoutDigests).
	ETag    string
	ModTime time.Time
	// DistributionID and Hour come from the key name (see ParseKey);
	// Hour is zero when the name carries none.
	DistributionID string
	Hour           time.Time
	// Role is "production", "staging" or empty.
	Role string
	// Source names where the object came from ("s3://bucket/" — S3 keys
	// are relative to the bucket — or "logs/" for a local folder), for
	// messages: Source+Key names the object.
	Source string
}

// Source lists and opens log objects.
type Source interface {
	// List yields the objects that may hold records between from and to
	// (zero times mean unbounded), in a stable order. Sources narrow the
	// listing by key where they can and leave slack for late delivery;
	// records are filtered by their own timestamps later.
	List(ctx context.Context, from, to time.Time) iter.Seq2[ObjectRef, error]
	// Open returns the object's raw (possibly gzip) bytes.
	Open(ctx context.Context, ref ObjectRef) (io.ReadCloser, error)
	// String names the source for messages.
	String() string
}

// Local is implemented by sources whose objects are files on this
// machine. Reading them waits on no network, so DefaultWorkers reads as
// many at once as there are cores.
type Local interface {
	Local() bool
}

// DefaultWorkers is the number of objects read at once when Options say
// none: one per core when every source is local (parsing waits on a core,
// and more objects at once only hold more rows in memory), otherwise four
// per core and at least 4 (fetching waits on the network).
func DefaultWorkers(sources []Source) int {
	local := len(sources) > 0
	for _, s := range sources {
		if l, ok := s.(Local); !ok || !l.Local() {
			local = false
		}
	}
	if local {
		return runtime.GOMAXPROCS(0)
	}
	return max(4, 4*runtime.GOMAXPROCS(0))
}

// ErrChanged is wrapped by sources whose object changed between listing
// and reading (its ETag or size differs). Reading it again cannot give the
// listed content, so the pipeline does not retry it; the next run lists the
// new version.
var ErrChanged = errors.New("object changed since it was listed")
