package s3source

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/s3test"
)

// TestListLayouts lists layouts that name the distribution only in the
// file name, or in a custom place, with two distributions under one
// prefix.
func TestListLayouts(t *testing.T) {
	const (
		e1 = "EAAAAAAAAAAA1"
		e2 = "EBBBBBBBBBBB2"
		e3 = "ECCCCCCCCCCC3" // not asked for
	)
	srv := s3test.Start(t)
	c := s3test.Client(srv.URL)
	const bucket = "cflens-layouts"
	s3test.CreateBucket(t, c, bucket)
	day := time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)
	var objs []s3test.Object
	for h := range 6 {
		hour := day.Add(time.Duration(h) * time.Hour)
		for _, id := range []string{e1, e2, e3} {
			// v2 with a suffix path of its own: host/{yyyy}/{MM}/{dd}/{HH}/, legacy file names.
			objs = append(objs, s3test.Object{Key: fmt.Sprintf("suffix/www.example.com/%s/%s.%s.0a1b2c3d.gz",
				hour.Format("2006/01/02/15"), id, hour.Format("2006-01-02-15"))})
			// A custom template: account ID between distribution and date.
			objs = append(objs, s3test.Object{Key: fmt.Sprintf("custom/%s/123456789012/%s/part-0.gz",
				id, hour.Format("2006-01-02/15"))})
		}
	}
	objs = append(objs, s3test.Object{Key: "suffix/www.example.com/2025/09/10/02/unnamed.gz"})
	for i := range objs {
		objs[i].Body = []byte(objs[i].Key)
	}
	s3test.PutObjects(t, c, bucket, objs)
	proxy := s3test.NewProxy(t, srv.URL)
	roles := map[string]string{e1: "production", e2: "staging"}

	tests := []struct {
		name      string
		prefix    string
		templates []string
		from, to  time.Time
		want      []string // distribution.hour of the refs, in order
		// wholePrefix: a list request may ask for the whole prefix.
		wholePrefix bool
	}{
		{name: "suffix path, bounded", prefix: "suffix/www.example.com/", from: day.Add(2 * time.Hour), to: day.Add(4 * time.Hour),
			want: []string{"E1.01", "E2.01", "E1.02", "E2.02", "E1.03", "E2.03", "E1.04", "E2.04", "E1.05", "E2.05"}},
		{name: "suffix path, unbounded", prefix: "suffix/www.example.com/", wholePrefix: true,
			want: []string{"E1.00", "E2.00", "E1.01", "E2.01", "E1.02", "E2.02", "E1.03", "E2.03", "E1.04", "E2.04", "E1.05", "E2.05"}},
		{name: "custom template", prefix: "custom/", templates: []string{"{DistributionId}/{AccountId}/{yyyy}-{MM}-{dd}/{HH}/"},
			from: day.Add(3 * time.Hour), to: day.Add(4 * time.Hour),
			want: []string{"E1.02", "E1.03", "E1.04", "E1.05", "E2.02", "E2.03", "E2.04", "E2.05"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy.ResetRequests()
			loc, err := ParseURL("s3://" + bucket + "/" + tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(s3test.Client(proxy.URL), loc, Options{Distributions: roles, Templates: tt.templates})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for ref, err := range s.List(context.Background(), tt.from, tt.to) {
				if err != nil {
					t.Fatal(err)
				}
				if ref.Role != roles[ref.DistributionID] || ref.Hour.IsZero() {
					t.Errorf("ref %+v: want its role and hour", ref)
				}
				got = append(got, ref.DistributionID[:1]+ref.DistributionID[len(ref.DistributionID)-1:]+ref.Hour.Format(".15"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("listed (-want +got):\n%s", diff)
			}
			var prefixes []string
			for _, r := range proxy.Requests() {
				// Listings, not probes (one key) or folder probes (delimited).
				if q, _ := url.ParseQuery(r.Query); q.Get("list-type") == "2" && q.Get("delimiter") == "" && q.Get("max-keys") != "1" {
					prefixes = append(prefixes, q.Get("prefix"))
				}
			}
			if !tt.wholePrefix && slices.Contains(prefixes, tt.prefix) {
				t.Errorf("listed the whole prefix; list requests %q", prefixes)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(prefixes)))) != len(prefixes) {
				t.Errorf("a prefix was listed twice: %q", prefixes)
			}
		})
	}
}

// TestListPageFaults checks that a list page failing past the SDK's
// attempts is asked again, and that one failing for good ends the listing
// with an error naming the prefix, after the keys before it.
func TestListPageFaults(t *testing.T) {
	const id = "EAAAAAAAAAAA1"
	srv := s3test.Start(t)
	c := s3test.Client(srv.URL)
	const bucket = "cflens-list-faults"
	s3test.CreateBucket(t, c, bucket)
	day := time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)
	var objs []s3test.Object
	for h := range 4 {
		key := fmt.Sprintf("logs/%s.%s.0a1b2c3d.gz", id, day.Add(time.Duration(h)*time.Hour).Format("2006-01-02-15"))
		objs = append(objs, s3test.Object{Key: key, Body: []byte(key)})
	}
	s3test.PutObjects(t, c, bucket, objs)
	proxy := s3test.NewProxy(t, srv.URL)
	badPrefix := "logs/" + id + ".2025-09-10-02."
	listsBad := func(r *http.Request) bool {
		return r.URL.Query().Get("list-type") == "2" && r.URL.Query().Get("prefix") == badPrefix
	}
	tests := []struct {
		name     string
		times    int // failing requests; 0: all
		wantKeys int
		wantErr  bool
	}{
		// The test client makes 3 attempts per call: 5 failures outlast
		// one call, not two.
		{name: "burst outlasting the sdk", times: 5, wantKeys: 4},
		{name: "failing for good", times: 0, wantKeys: 2, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy.ClearRules()
			proxy.AddRule(s3test.Rule{Method: "GET", Match: listsBad, Fault: s3test.InternalError, Times: tt.times})
			loc := Location{Bucket: bucket, Prefix: "logs/"}
			opts := Options{Distributions: map[string]string{id: "production"}, EarlySlack: time.Hour, LateDelivery: time.Hour, ListConcurrency: 1}
			s, err := New(s3test.Client(proxy.URL), loc, opts)
			if err != nil {
				t.Fatal(err)
			}
			var keys int
			var errs []error
			for ref, err := range s.List(context.Background(), day.Add(time.Hour), day.Add(3*time.Hour)) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if len(errs) > 0 {
					t.Errorf("got %s after an error", ref.Key)
				}
				keys++
			}
			if keys != tt.wantKeys {
				t.Errorf("listed %d keys, want %d", keys, tt.wantKeys)
			}
			switch {
			case !tt.wantErr && len(errs) > 0:
				t.Errorf("List errors %v, want none", errs)
			case tt.wantErr && (len(errs) != 1 || !strings.Contains(errs[0].Error(), badPrefix)):
				t.Errorf("List errors %v, want one naming %s", errs, badPrefix)
			}
		})
	}
}
