package logparse

import (
	"errors"

	"github.com/cflens/cflens/ingest/inflate"
)

// errReleased is returned by a reader used after it was released.
var errReleased = errors.New("read after release")

// ErrTooLarge is returned when an object read through Open inflates, or
// a Parquet object is, past the size limit. It is inflate.ErrTooLarge.
var ErrTooLarge = inflate.ErrTooLarge

// DefaultMaxBytes is the default limit on the size of one object read
// through Open (see WithMaxBytes).
const DefaultMaxBytes = inflate.DefaultMaxBytes
