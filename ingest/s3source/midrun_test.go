package s3source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/s3test"
)

// meddlingSource runs a change on the bucket right after the listing
// yields a given key, before the pipeline fetches it.
type meddlingSource struct {
	*Source
	after map[string]func()
}

func (s meddlingSource) List(ctx context.Context, from, to time.Time) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		for ref, err := range s.Source.List(ctx, from, to) {
			if f := s.after[ref.Key]; err == nil && f != nil {
				f()
			}
			if !yield(ref, err) {
				return
			}
		}
	}
}

// TestRunObjectsChangingMidRun deletes one object and overwrites another
// between their listing and their fetch. The run goes on, reports exactly
// those two by key, and takes every other object once; the next run takes
// the overwritten object's new version, whose rows replace the old ones,
// and no longer lists the deleted one.
func TestRunObjectsChangingMidRun(t *testing.T) {
	f := newE2EFixture(t, 20)
	gone, changed := f.objs[5], f.objs[12]
	newer := makeLogObjects(t, "logs/", 15)[14] // 5 repetitions; changed has 3
	newer.key = changed.key
	src := meddlingSource{Source: f.source(t, 5*time.Second), after: map[string]func(){
		gone.key: func() {
			if _, err := f.direct.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(gone.key)}); err != nil {
				t.Error(err)
			}
		},
		changed.key: func() {
			if _, err := f.direct.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(newer.key), Body: bytes.NewReader(newer.body)}); err != nil {
				t.Error(err)
			}
		},
	}}
	sink := newCountingSink()
	sum, err := run(t, src, sink, 4)
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("run error %v, want ErrIncomplete", err)
	}
	var failed []string
	for _, fo := range sum.Failed {
		failed = append(failed, fo.Object)
	}
	if len(failed) != 2 || !strings.Contains(failed[0]+failed[1], gone.key) || !strings.Contains(failed[0]+failed[1], changed.key) {
		t.Errorf("failed objects %q, want %s and %s", failed, gone.key, changed.key)
	}
	for _, fo := range sum.Failed {
		if strings.Contains(fo.Object, gone.key) && fo.Attempts != 1 {
			t.Errorf("deleted object tried %d times, want 1 (missing is final)", fo.Attempts)
		}
	}
	for _, o := range f.objs {
		want := 1
		if o.key == gone.key || o.key == changed.key {
			want = 0 // never a mix of two versions
		}
		if sink.commits[o.key] != want {
			t.Errorf("%s committed %d times, want %d", o.key, sink.commits[o.key], want)
		}
	}
	if want := f.want - gone.rows - changed.rows; sum.Rows != want || sink.total() != want {
		t.Errorf("rows: summary %d, committed %d, want %d", sum.Rows, sink.total(), want)
	}

	sum, err = run(t, f.source(t, 5*time.Second), sink, 4)
	if err != nil {
		t.Fatalf("next run: %v (failed %+v)", err, sum.Failed)
	}
	if sum.Objects != 1 || sum.Rows != newer.rows || sink.rows[changed.key] != newer.rows {
		t.Errorf("next run took %d objects, %d rows; %s has %d rows; want 1, %d, %d",
			sum.Objects, sum.Rows, changed.key, sink.rows[changed.key], newer.rows, newer.rows)
	}
	if want := f.want - gone.rows - changed.rows + newer.rows; sink.total() != want {
		t.Errorf("committed rows %d, want %d", sink.total(), want)
	}
}

// TestRunRetriesExhausted answers every GET of three objects with 503
// SlowDown: the SDK's attempts, the client's retry budget and the
// pipeline's attempts all run out. The run ends, incomplete, naming
// exactly those three objects; every other object is taken once.
func TestRunRetriesExhausted(t *testing.T) {
	f := newE2EFixture(t, 30)
	victims := map[string]bool{f.objs[3].key: true, f.objs[14].key: true, f.objs[27].key: true}
	f.proxy.AddRule(s3test.Rule{Method: "GET", Match: func(r *http.Request) bool {
		return victims[strings.TrimPrefix(r.URL.Path, "/"+f.bucket+"/")]
	}, Fault: s3test.SlowDown})
	sink := newCountingSink()
	done := make(chan struct{})
	var sum *ingest.Summary
	var err error
	go func() {
		defer close(done)
		sum, err = run(t, f.source(t, 5*time.Second), sink, 8)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("run did not end within two minutes")
	}
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("run error %v, want ErrIncomplete", err)
	}
	var want int64
	for _, o := range f.objs {
		if victims[o.key] {
			if sink.commits[o.key] != 0 {
				t.Errorf("%s committed", o.key)
			}
			continue
		}
		want += o.rows
		if sink.commits[o.key] != 1 {
			t.Errorf("%s committed %d times, want 1", o.key, sink.commits[o.key])
		}
	}
	if len(sum.Failed) != len(victims) {
		t.Errorf("failed objects %+v, want the %d victims", sum.Failed, len(victims))
	}
	for _, fo := range sum.Failed {
		victim := false
		for k := range victims {
			victim = victim || strings.HasSuffix(fo.Object, k)
		}
		if !victim || fo.Attempts != ingest.DefaultOptions().Attempts {
			t.Errorf("failed %s after %d attempts, want a victim after %d", fo.Object, fo.Attempts, ingest.DefaultOptions().Attempts)
		}
	}
	if sum.Rows != want || sink.total() != want {
		t.Errorf("rows: summary %d, committed %d, want %d", sum.Rows, sink.total(), want)
	}
}

// TestListRepeatedContinuationToken serves a listing whose pages keep
// handing back the token they were asked with, as a broken S3-compatible
// store can: the listing must end with an error instead of asking forever.
func TestListRepeatedContinuationToken(t *testing.T) {
	var requests atomic.Int64
	const limit = 50
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > limit {
			// Ends a listing that never stops, so that the test fails
			// rather than hangs.
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>stop</Message></Error>`)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		n := requests.Load()
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>logs/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>same-token</NextContinuationToken><Contents><Key>logs/%s.2025-09-10-00.%08x.gz</Key><LastModified>2025-09-10T01:00:00.000Z</LastModified><ETag>"e%d"</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>`, prodID, n, n)
	}))
	t.Cleanup(srv.Close)
	s, err := New(s3test.Client(srv.URL), Location{Bucket: "b", Prefix: "logs/"}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var keys int
	var listErr error
	for _, err := range s.List(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			listErr = err
			break
		}
		keys++
	}
	if n := requests.Load(); n > 3 {
		t.Errorf("%d list requests for a token that repeats, want the listing to stop at the repeat", n)
	}
	if listErr == nil || !strings.Contains(listErr.Error(), "continuation token") {
		t.Errorf("listing error %v, want one about the repeated continuation token", listErr)
	}
	if keys < 1 {
		t.Errorf("%d keys before the error, want the first page's", keys)
	}
}
