package s3source

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/s3test"
)

const (
	prodID  = "EPROD1234567"
	stageID = "ESTAGE123456"
	otherID = "EOTHER999999"
)

var day0 = time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)

// listFixture is a bucket holding, under logs/, legacy files of three
// distributions over 48 hours (8 per hour), v2 Hive-style files of the
// production distribution and v2 templated files of the staging one over
// 24 hours, and keys that name nothing; under solo/, templated files
// without a distribution ID.
type listFixture struct {
	proxy  *s3test.Proxy
	bucket string
	// keys maps every log key to what it names.
	keys map[string]ingest.KeyInfo
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	srv := s3test.Start(t)
	f := &listFixture{bucket: "cflens-list", keys: map[string]ingest.KeyInfo{}}
	c := s3test.Client(srv.URL)
	s3test.CreateBucket(t, c, f.bucket)
	var objs []s3test.Object
	add := func(key string, id string, h time.Time) {
		objs = append(objs, s3test.Object{Key: key, Body: []byte(key)})
		if id != "" || !h.IsZero() {
			f.keys[key] = ingest.KeyInfo{DistributionID: id, Hour: h}
		}
	}
	for h := range 48 {
		hour := day0.Add(time.Duration(h) * time.Hour)
		for _, id := range []string{prodID, stageID, otherID} {
			for n := range 8 {
				add(fmt.Sprintf("logs/%s.%s.%08x.gz", id, hour.Format("2006-01-02-15"), n*7919+h), id, hour)
			}
		}
		if h < 24 {
			for n := range 2 {
				add(fmt.Sprintf("logs/DistributionId=%s/year=%s/month=%s/day=%s/hour=%s/%s_%d.gz", prodID,
					hour.Format("2006"), hour.Format("01"), hour.Format("02"), hour.Format("15"), prodID, n), prodID, hour)
				add(fmt.Sprintf("logs/%s/%s/%s_%d.gz", stageID, hour.Format("2006/01/02/15"), stageID, n), stageID, hour)
				add(fmt.Sprintf("solo/%s/part-%d.gz", hour.Format("2006/01/02/15"), n), "", hour)
			}
		}
	}
	objs = append(objs, s3test.Object{Key: "logs/README.txt", Body: []byte("not a log")})
	objs = append(objs, s3test.Object{Key: "logs/misc/notes.gz", Body: []byte("not a log")})
	s3test.PutObjects(t, c, f.bucket, objs)
	f.proxy = s3test.NewProxy(t, srv.URL)
	return f
}

func (f *listFixture) source(t *testing.T, prefix string, opts Options) *Source {
	t.Helper()
	loc, err := ParseURL("s3://" + f.bucket + "/" + prefix)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(s3test.Client(f.proxy.URL), loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// want returns the keys under prefix that the listing must return: those
// of the ids (all when ids is empty) whose hour h satisfies lo <= h <= hi
// (a zero bound is open).
func (f *listFixture) want(prefix string, ids []string, lo, hi time.Time) []string {
	var out []string
	for k, info := range f.keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if len(ids) > 0 && info.DistributionID != "" && !slices.Contains(ids, info.DistributionID) {
			continue
		}
		if !lo.IsZero() && info.Hour.Before(lo) {
			continue
		}
		if !hi.IsZero() && info.Hour.After(hi) {
			continue
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func collect(t *testing.T, s *Source, from, to time.Time) []ingest.ObjectRef {
	t.Helper()
	var refs []ingest.ObjectRef
	for r, err := range s.List(context.Background(), from, to) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		refs = append(refs, r)
	}
	return refs
}

func (f *listFixture) listRequests() (n int, prefixes []string) {
	for _, r := range f.proxy.Requests() {
		q, _ := url.ParseQuery(r.Query)
		if r.Method == "GET" && q.Get("list-type") == "2" {
			n++
			prefixes = append(prefixes, q.Get("prefix"))
		}
	}
	return n, prefixes
}

func TestList(t *testing.T) {
	f := newListFixture(t)
	roles := map[string]string{prodID: "production", stageID: "staging"}
	from := day0.Add(5 * time.Hour)
	to := day0.Add(7 * time.Hour)
	hour := func(h int) time.Time { return day0.Add(time.Duration(h) * time.Hour) }
	const probes = 2*4 + 2
	tests := []struct {
		name     string
		prefix   string
		opts     Options
		from, to time.Time
		ids      []string
		// wantLo and wantHi are the first and last key hours listed.
		wantLo, wantHi time.Time
		// maxLists bounds the list requests; 0: more than one is wanted
		// (pagination of an unbounded listing).
		maxLists int
		// narrowed: no list request may cover the whole source prefix.
		narrowed bool
	}{
		{name: "all keys paginated", prefix: "logs/"},
		{name: "two distributions unbounded", prefix: "logs/", opts: Options{Distributions: roles},
			ids: []string{prodID, stageID}},
		{name: "two hours one hour slack", prefix: "logs/",
			opts: Options{Distributions: roles, EarlySlack: time.Hour, LateDelivery: time.Hour},
			from: from, to: to, ids: []string{prodID, stageID}, wantLo: hour(4), wantHi: hour(7),
			// At most 2 IDs × 4 layouts and 2 layouts without ID probed,
			// then 4 live (ID, layout) pairs × 4 hours.
			maxLists: probes + 4*4, narrowed: true},
		{name: "small pages", prefix: "logs/",
			opts: Options{Distributions: roles, EarlySlack: time.Hour, LateDelivery: time.Hour, PageSize: 3},
			from: from, to: to, ids: []string{prodID, stageID}, wantLo: hour(4), wantHi: hour(7),
			// legacy hours hold 8 keys: 3 pages each.
			maxLists: probes + 2*4*3 + 2*4, narrowed: true},
		{name: "default slack", prefix: "logs/", opts: Options{Distributions: roles},
			from: hour(30), to: hour(31), ids: []string{prodID, stageID}, wantLo: hour(29), wantHi: hour(54),
			// 29..54 is one whole day and 7 hours: at most 31 prefixes per pair.
			maxLists: probes + 4*31, narrowed: true},
		{name: "one distribution only", prefix: "logs/",
			opts: Options{Distributions: map[string]string{stageID: "staging"}, EarlySlack: time.Hour, LateDelivery: time.Hour},
			from: from, to: to, ids: []string{stageID}, wantLo: hour(4), wantHi: hour(7), narrowed: true, maxLists: 100},
		{name: "single distribution without ID in keys", prefix: "solo/",
			opts: Options{Distributions: map[string]string{prodID: "production"}, EarlySlack: time.Hour, LateDelivery: time.Hour},
			from: from, to: to, ids: []string{prodID}, wantLo: hour(4), wantHi: hour(7), maxLists: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.proxy.ResetRequests()
			s := f.source(t, tt.prefix, tt.opts)
			refs := collect(t, s, tt.from, tt.to)
			var got []string
			for _, r := range refs {
				got = append(got, r.Key)
			}
			slices.Sort(got)
			want := f.want(tt.prefix, tt.ids, tt.wantLo, tt.wantHi)
			if len(want) == 0 {
				t.Fatal("the fixture has no key for this case")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("listed keys mismatch (-want +got):\n%s", diff)
			}
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("a key was listed twice")
			}
			for _, r := range refs {
				info := f.keys[r.Key]
				wantID := info.DistributionID
				if wantID == "" && len(tt.ids) == 1 {
					wantID = tt.ids[0]
				}
				if r.DistributionID != wantID || !r.Hour.Equal(info.Hour) || r.Role != tt.opts.Distributions[wantID] ||
					r.Size != int64(len(r.Key)) || r.ETag == "" || strings.Contains(r.ETag, `"`) ||
					r.ModTime.IsZero() || r.Source != "s3://"+f.bucket+"/" {
					t.Errorf("ref %+v does not describe its key", r)
					break
				}
			}
			n, prefixes := f.listRequests()
			switch {
			case tt.maxLists == 0 && n < 2:
				t.Errorf("%d list requests, want pagination over more than one", n)
			case tt.maxLists > 0 && n > tt.maxLists:
				t.Errorf("%d list requests, want at most %d; prefixes %q", n, tt.maxLists, prefixes)
			}
			if tt.narrowed && slices.Contains(prefixes, tt.prefix) {
				t.Errorf("listed the whole prefix %s, want narrowed listings; prefixes %q", tt.prefix, prefixes)
			}
		})
	}
}

func TestListOrderStable(t *testing.T) {
	f := newListFixture(t)
	opts := Options{Distributions: map[string]string{prodID: "production", stageID: "staging"}, EarlySlack: 3 * time.Hour, LateDelivery: 3 * time.Hour, ListConcurrency: 8}
	first := collect(t, f.source(t, "logs/", opts), day0.Add(10*time.Hour), day0.Add(12*time.Hour))
	opts.ListConcurrency = 1
	second := collect(t, f.source(t, "logs/", opts), day0.Add(10*time.Hour), day0.Add(12*time.Hour))
	if len(first) == 0 {
		t.Fatal("nothing listed")
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("order differs between 8 and 1 concurrent listings (-8 +1):\n%s", diff)
	}
}

func TestListStopsEarly(t *testing.T) {
	f := newListFixture(t)
	s := f.source(t, "logs/", Options{Distributions: map[string]string{prodID: "production"}})
	n := 0
	for _, err := range s.List(context.Background(), day0, day0.Add(48*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("took %d refs, want 3", n)
	}
}
