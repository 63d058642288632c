package s3source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/s3test"
)

// openFixture is one bucket with one object per test case, behind a
// fault-injecting proxy.
type openFixture struct {
	srv    *s3test.Server
	proxy  *s3test.Proxy
	direct *s3.Client
	bucket string
}

func newOpenFixture(t *testing.T) *openFixture {
	t.Helper()
	srv := s3test.Start(t)
	f := &openFixture{srv: srv, bucket: "cflens-open", direct: s3test.Client(srv.URL)}
	s3test.CreateBucket(t, f.direct, f.bucket)
	f.proxy = s3test.NewProxy(t, srv.URL)
	return f
}

func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// put uploads body as key and returns its ref as a listing would.
func (f *openFixture) put(t *testing.T, key string, body []byte) ingest.ObjectRef {
	t.Helper()
	s3test.PutObjects(t, f.direct, f.bucket, []s3test.Object{{Key: key, Body: body}})
	head, err := f.direct.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return ingest.ObjectRef{
		Key:  key,
		Size: aws.ToInt64(head.ContentLength),
		ETag: strings.Trim(aws.ToString(head.ETag), `"`),
	}
}

func (f *openFixture) source(t *testing.T, idle time.Duration) *Source {
	t.Helper()
	s, err := New(s3test.Client(f.proxy.URL), Location{Bucket: f.bucket}, Options{IdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readAll(ctx context.Context, s *Source, ref ingest.ObjectRef) ([]byte, error) {
	rc, err := s.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestOpenFaults(t *testing.T) {
	f := newOpenFixture(t)
	s := f.source(t, 10*time.Second)
	// A short idle timeout only where a stall is injected: on a loaded
	// machine a slow answer would pass for a stall.
	quick := f.source(t, 500*time.Millisecond)
	tests := []struct {
		name  string
		rules []s3test.Rule
		// wantErr is the error the read must wrap; nil means the read
		// succeeds with the object's exact content.
		wantErr error
		// anyErr: the read must fail, with whatever error.
		anyErr bool
		// errText must appear in the error, when set.
		errText string
		// wantGets is the number of GET requests for the object.
		wantGets int
		// wantAttempts, when set, are the SDK attempt numbers of the GETs.
		wantAttempts []int
	}{
		{name: "clean", wantGets: 1},
		{name: "slowdown burst retried by the sdk",
			rules:    []s3test.Rule{{Method: "GET", Fault: s3test.SlowDown, Times: 2}},
			wantGets: 3, wantAttempts: []int{1, 2, 3}},
		{name: "internal error retried by the sdk",
			rules:    []s3test.Rule{{Method: "GET", Fault: s3test.InternalError, Times: 1}},
			wantGets: 2},
		{name: "reset before headers retried by the sdk",
			rules:    []s3test.Rule{{Method: "GET", Fault: s3test.ResetBeforeHeaders, Times: 1}},
			wantGets: 2},
		{name: "slowdown beyond the sdk attempts",
			rules:  []s3test.Rule{{Method: "GET", Fault: s3test.SlowDown, Times: 3}},
			anyErr: true, wantGets: 3},
		{name: "reset mid body", rules: []s3test.Rule{{Method: "GET", Fault: s3test.ResetMidBody, Times: 1}},
			wantErr: ErrShortBody, wantGets: 1},
		{name: "truncated body", rules: []s3test.Rule{{Method: "GET", Fault: s3test.Truncate, Times: 1}},
			wantErr: ErrShortBody, wantGets: 1},
		{name: "stalled body", rules: []s3test.Rule{{Method: "GET", Fault: s3test.Stall, Times: 1}},
			wantErr: ErrStalled, wantGets: 1},
		// The object was stored with a CRC32: the SDK's response checksum
		// validation catches the flipped byte at the end of the body.
		{name: "corrupted body", rules: []s3test.Rule{{Method: "GET", Fault: s3test.Corrupt, Times: 1}},
			anyErr: true, errText: "checksum", wantGets: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "obj/" + strings.ReplaceAll(tt.name, " ", "-") + ".gz"
			body := payload(uint64(i), 256<<10)
			ref := f.put(t, key, body)
			f.proxy.ClearRules()
			for _, r := range tt.rules {
				r.Key = key
				f.proxy.AddRule(r)
			}
			f.proxy.ResetRequests()
			src := s
			if slices.ContainsFunc(tt.rules, func(r s3test.Rule) bool { return r.Fault == s3test.Stall }) {
				src = quick
			}
			got, err := readAll(context.Background(), src, ref)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("read error = %v, want %v", err, tt.wantErr)
				}
			case tt.anyErr:
				if err == nil {
					t.Errorf("read succeeded with %d bytes (equal to the object: %v), want an error", len(got), bytes.Equal(got, body))
				}
				if err != nil && tt.errText != "" && !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("read error = %v, want one mentioning %q", err, tt.errText)
				}
			default:
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if !bytes.Equal(got, body) {
					t.Errorf("read %d bytes that differ from the %d uploaded", len(got), len(body))
				}
			}
			if err != nil && !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name the key %s", err, key)
			}
			if n := f.proxy.Count("GET", key); n != tt.wantGets {
				t.Errorf("%d GET requests, want %d", n, tt.wantGets)
			}
			if tt.wantAttempts != nil {
				var got []int
				for _, r := range f.proxy.Requests() {
					got = append(got, r.Attempt)
				}
				if diff := cmp.Diff(tt.wantAttempts, got); diff != "" {
					t.Errorf("SDK attempts mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestOpenChangedAndMissing(t *testing.T) {
	f := newOpenFixture(t)
	s := f.source(t, 5*time.Second)
	ref := f.put(t, "changed.gz", []byte("first version"))
	s3test.PutObjects(t, f.direct, f.bucket, []s3test.Object{{Key: "changed.gz", Body: []byte("second version!")}})
	t.Run("overwritten after listing", func(t *testing.T) {
		_, err := readAll(context.Background(), s, ref)
		if !errors.Is(err, ErrChanged) {
			t.Errorf("read error = %v, want ErrChanged", err)
		}
	})
	t.Run("same size overwrite", func(t *testing.T) {
		ref := f.put(t, "same.gz", []byte("aaaa"))
		s3test.PutObjects(t, f.direct, f.bucket, []s3test.Object{{Key: "same.gz", Body: []byte("bbbb")}})
		_, err := readAll(context.Background(), s, ref)
		if !errors.Is(err, ErrChanged) {
			t.Errorf("read error = %v, want ErrChanged", err)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		_, err := readAll(context.Background(), s, ingest.ObjectRef{Key: "no/such/key.gz"})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("read error = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("deleted after listing", func(t *testing.T) {
		ref := f.put(t, "deleted.gz", []byte("gone soon"))
		if _, err := f.direct.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(f.bucket), Key: aws.String("deleted.gz")}); err != nil {
			t.Fatal(err)
		}
		_, err := readAll(context.Background(), s, ref)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("read error = %v, want fs.ErrNotExist", err)
		}
	})
}

// TestOpenSlowConsumer checks that the idle timeout counts only time spent
// waiting for the server, not time the caller spends between reads.
func TestOpenSlowConsumer(t *testing.T) {
	f := newOpenFixture(t)
	s := f.source(t, time.Second)
	body := payload(7, 32<<10)
	ref := f.put(t, "slow.gz", body)
	rc, err := s.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []byte
	buf := make([]byte, 16<<10)
	for range 100 {
		n, err := rc.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		time.Sleep(1200 * time.Millisecond)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("read %d bytes that differ from the %d uploaded", len(got), len(body))
	}
}
