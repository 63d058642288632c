package s3source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cflens/cflens/ingest"
)

// Errors of a fetch. The pipeline re-fetches an object whose body fails
// with any of them.
var (
	// ErrShortBody: the body ended before its length, or the response was
	// shorter than the listed size.
	ErrShortBody = errors.New("object body shorter than its length")
	// ErrStalled: no byte arrived within the idle timeout.
	ErrStalled = errors.New("no data within the idle timeout")
	// ErrChanged: the object's ETag or size is not the listed one any
	// more (it was overwritten after the listing).
	ErrChanged = ingest.ErrChanged
)

// openObject GETs bucket/key. When etag is not empty the GET carries
// If-Match; when size is positive the body must have exactly that many
// bytes. idle bounds the wait for the response and for each read.
func openObject(ctx context.Context, client *s3.Client, bucket, key, etag string, size int64, idle time.Duration) (io.ReadCloser, error) {
	name := "s3://" + bucket + "/" + key
	ctx, cancel := context.WithCancelCause(ctx)
	w := newWatchdog(idle, cancel)
	in := &s3.GetObjectInput{
		Bucket:       aws.String(bucket),
		Key:          aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled,
	}
	if etag != "" {
		in.IfMatch = aws.String(`"` + etag + `"`)
	}
	w.start()
	out, err := client.GetObject(ctx, in)
	w.stop()
	if err != nil {
		stalled := errors.Is(context.Cause(ctx), ErrStalled)
		cancel(nil)
		if stalled {
			return nil, fmt.Errorf("get %s: no response within %s: %w", name, idle, ErrStalled)
		}
		return nil, fmt.Errorf("get %s: %w", name, convertErr(err))
	}
	if n := aws.ToInt64(out.ContentLength); size > 0 && out.ContentLength != nil && n != size {
		out.Body.Close()
		cancel(nil)
		if n < size {
			return nil, fmt.Errorf("get %s: content length %d, listed size %d: %w", name, n, size, ErrShortBody)
		}
		return nil, fmt.Errorf("get %s: content length %d, listed size %d: %w", name, n, size, ErrChanged)
	}
	want := int64(-1)
	if size > 0 {
		want = size
	} else if out.ContentLength != nil {
		want = *out.ContentLength
	}
	return &body{rc: out.Body, name: name, ctx: ctx, cancel: cancel, w: w, want: want}, nil
}

// body checks the length of an object's body and turns a stalled read
// into an error instead of a hang.
type body struct {
	rc     io.ReadCloser
	name   string
	ctx    context.Context
	cancel context.CancelCauseFunc
	w      *watchdog
	want   int64 // -1 when unknown
	n      int64
}

func (b *body) Read(p []byte) (int, error) {
	b.w.start()
	n, err := b.rc.Read(p)
	b.w.stop()
	b.n += int64(n)
	switch {
	case err == nil:
		if b.want >= 0 && b.n > b.want {
			return n, fmt.Errorf("read %s: more than %d bytes: %w", b.name, b.want, ErrChanged)
		}
		return n, nil
	case errors.Is(context.Cause(b.ctx), ErrStalled):
		return n, fmt.Errorf("read %s after %d bytes: nothing for %s: %w", b.name, b.n, b.w.idle, ErrStalled)
	case err == io.EOF:
		if b.want >= 0 && b.n < b.want {
			return n, fmt.Errorf("read %s: body ended after %d of %d bytes: %w", b.name, b.n, b.want, ErrShortBody)
		}
		if b.want >= 0 && b.n > b.want {
			return n, fmt.Errorf("read %s: %d bytes, want %d: %w", b.name, b.n, b.want, ErrChanged)
		}
		return n, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("read %s: connection closed after %d of %d bytes: %w", b.name, b.n, b.want, kindError{ErrShortBody, err})
	default:
		return n, fmt.Errorf("read %s after %d bytes: %w", b.name, b.n, err)
	}
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.w.close()
	b.cancel(nil)
	return err
}

// watchdog cancels a context with ErrStalled when an operation runs longer
// than idle. A zero idle disables it.
type watchdog struct {
	idle time.Duration
	t    *time.Timer
}

func newWatchdog(idle time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{idle: idle}
	if idle > 0 {
		w.t = time.AfterFunc(idle, func() { cancel(ErrStalled) })
		w.t.Stop()
	}
	return w
}

func (w *watchdog) start() {
	if w.t != nil {
		w.t.Reset(w.idle)
	}
}

func (w *watchdog) stop() {
	if w.t != nil {
		w.t.Stop()
	}
}

func (w *watchdog) close() { w.stop() }

// convertErr turns the SDK's errors into ours: a missing object wraps
// fs.ErrNotExist, a failed If-Match wraps ErrChanged. The SDK error stays
// in the chain for its message.
func convertErr(err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return kindError{fs.ErrNotExist, err}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return kindError{fs.ErrNotExist, err}
		case "PreconditionFailed":
			return kindError{ErrChanged, err}
		case "NoSuchBucket":
			return err
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return kindError{fs.ErrNotExist, err}
		case http.StatusPreconditionFailed:
			return kindError{ErrChanged, err}
		}
	}
	return err
}

// transient reports whether a request that failed with err (after the
// SDK's own retries) may succeed when made again: throttling, server
// errors and broken connections, not a missing bucket or key, a denied
// access or a bad request.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrChanged) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
			"TooManyRequests", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable":
			return true
		}
		if ae.ErrorFault() == smithy.FaultClient {
			return false
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	}
	return true
}

// kindError is an SDK error marked with one of our sentinels; its message
// is the SDK's.
type kindError struct {
	kind error
	err  error
}

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }
