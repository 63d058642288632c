package s3store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"iter"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/s3source"
)

// MaxPutSize is the largest object Put writes: S3's limit for a single
// PutObject. Larger objects would need a multipart upload.
const MaxPutSize = 5 << 30

// maxBufferedPut is the largest body Put copies into memory when it is not
// given an io.ReadSeeker (the checksum is computed before sending, and a
// retry sends the body again); larger ones go to a temporary file.
const maxBufferedPut = 64 << 20

// Store reads and writes objects under one S3 location, for the Parquet
// dataset kept in S3. Keys are relative to the location's prefix.
type Store struct {
	client *s3.Client
	loc    s3source.Location
	// idle bounds the wait for a response or for the next part of a body.
	idle time.Duration
	// bufferLimit is maxBufferedPut, lowered by tests.
	bufferLimit int64
}

// NewStore returns a store over loc.
func NewStore(client *s3.Client, loc s3source.Location) *Store {
	return &Store{client: client, loc: loc, idle: s3source.DefaultOptions().IdleTimeout, bufferLimit: maxBufferedPut}
}

// String returns s3://bucket/prefix.
func (s *Store) String() string { return s.loc.String() }

func (s *Store) key(k string) (string, error) {
	if k == "" || strings.HasPrefix(k, "/") || strings.Contains(k, "//") {
		return "", fmt.Errorf("object key %q: must be a non-empty relative path", k)
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("object key %q: no . or .. segments", k)
		}
	}
	return s.loc.Prefix + k, nil
}

// Put writes size bytes from r as key, in one PutObject with a CRC32C
// checksum that the server verifies. size must be at most MaxPutSize; a
// reader that is not an io.ReadSeeker is buffered in memory up to 64 MiB,
// in a temporary file beyond.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return s.put(ctx, key, r, size, false)
}

// PutIfAbsent writes key like Put, but only when no object has that key:
// the PutObject carries If-None-Match: *, and S3 answers 412 Precondition
// Failed (an error wrapping fs.ErrExist here) when the key exists, or 409
// ConditionalRequestConflict when another conditional write of the key is
// in flight (also fs.ErrExist: someone else is creating it). The dataset's
// lease is created this way.
func (s *Store) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return s.put(ctx, key, r, size, true)
}

func (s *Store) put(ctx context.Context, key string, r io.Reader, size int64, ifAbsent bool) error {
	full, err := s.key(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", s.loc, err)
	}
	name := "s3://" + s.loc.Bucket + "/" + full
	if size < 0 || size > MaxPutSize {
		return fmt.Errorf("put %s: size %d outside 0..%d", name, size, int64(MaxPutSize))
	}
	rs, ok := r.(io.ReadSeeker)
	if !ok && size <= s.bufferLimit {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("put %s: read body: %w", name, err)
		}
		rs = bytes.NewReader(buf)
	} else if !ok {
		// Too large for memory: spool to a temporary file, which the
		// SDK can read twice (checksum, retries).
		f, err := os.CreateTemp("", "cflens-put-*")
		if err != nil {
			return fmt.Errorf("put %s: %w", name, err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		n, err := io.Copy(f, io.LimitReader(r, size))
		if err != nil {
			return fmt.Errorf("put %s: spool body: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("put %s: body has %d bytes, want %d: %w", name, n, size, io.ErrUnexpectedEOF)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("put %s: %w", name, err)
		}
		rs = f
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	n, err := io.Copy(h, io.LimitReader(rs, size))
	if err != nil {
		return fmt.Errorf("put %s: read body: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("put %s: body has %d bytes, want %d: %w", name, n, size, io.ErrUnexpectedEOF)
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	sum := binary.BigEndian.AppendUint32(nil, h.Sum32())
	in := &s3.PutObjectInput{
		Bucket:         aws.String(s.loc.Bucket),
		Key:            aws.String(full),
		Body:           &limitedSeeker{rs: rs, start: start, size: size},
		ContentLength:  aws.Int64(size),
		ChecksumCRC32C: aws.String(base64.StdEncoding.EncodeToString(sum)),
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	_, err = s.client.PutObject(ctx, in)
	if err != nil {
		if ifAbsent && conditionFailed(err) {
			return fmt.Errorf("put %s: %w: %w", name, fs.ErrExist, err)
		}
		return fmt.Errorf("put %s: %w", name, s3source.ConvertErr(err))
	}
	return nil
}

// conditionFailed reports whether a conditional PutObject was refused
// because the key exists (412) or is being written conditionally by
// another request (409).
func conditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusPreconditionFailed, http.StatusConflict:
			return true
		}
	}
	return false
}

// limitedSeeker exposes size bytes of rs from start as a seekable body.
type limitedSeeker struct {
	rs    io.ReadSeeker
	start int64
	size  int64
	off   int64
}

func (l *limitedSeeker) Read(p []byte) (int, error) {
	if l.off >= l.size {
		return 0, io.EOF
	}
	if rem := l.size - l.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := l.rs.Read(p)
	l.off += int64(n)
	return n, err
}

func (l *limitedSeeker) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = l.off + offset
	case io.SeekEnd:
		abs = l.size + offset
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if abs < 0 || abs > l.size {
		return 0, fmt.Errorf("seek to %d outside 0..%d", abs, l.size)
	}
	if _, err := l.rs.Seek(l.start+abs, io.SeekStart); err != nil {
		return 0, err
	}
	l.off = abs
	return abs, nil
}

// Get opens key for reading. A missing key wraps fs.ErrNotExist. The body
// fails with ErrShortBody or ErrStalled like a Source's.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	full, err := s.key(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", s.loc, err)
	}
	return s3source.OpenObject(ctx, s.client, s.loc.Bucket, full, s.idle)
}

// List yields the objects whose keys start with prefix, in key order, with
// Key relative to the store's location, and the distribution and hour that
// a Hive-style dataset path names.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		err := s3source.ListObjects(ctx, s.client, s.loc.Bucket, s.loc.Prefix+prefix, func(obj types.Object) bool {
			key := strings.TrimPrefix(aws.ToString(obj.Key), s.loc.Prefix)
			info, _ := ingest.ParseKey(key)
			return yield(ingest.ObjectRef{
				Key:            key,
				Size:           aws.ToInt64(obj.Size),
				ETag:           s3source.Unquote(aws.ToString(obj.ETag)),
				ModTime:        aws.ToTime(obj.LastModified).UTC(),
				DistributionID: info.DistributionID,
				Hour:           info.Hour,
				Source:         s.loc.String(),
			}, nil)
		})
		if err != nil {
			yield(ingest.ObjectRef{}, err)
		}
	}
}

// Delete removes key. Deleting a key that does not exist is not an error
// (S3 answers both the same way).
func (s *Store) Delete(ctx context.Context, key string) error {
	full, err := s.key(key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", s.loc, err)
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.loc.Bucket),
		Key:    aws.String(full),
	})
	if err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.loc.Bucket, full, s3source.ConvertErr(err))
	}
	return nil
}
