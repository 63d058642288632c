package s3source

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/s3test"
)

// TestListSkipsDatasets: a listing never yields the files of a cflens
// dataset (a prefix holding a _cflens/ journal) written below the log
// prefix, says so once per dataset, and still yields v2 files in folders
// named like dataset partitions where no journal is.
func TestListSkipsDatasets(t *testing.T) {
	srv := s3test.Start(t)
	c := s3test.Client(srv.URL)
	const bucket = "cflens-selfread"
	s3test.CreateBucket(t, c, bucket)
	part := "distributionid=" + prodID + "/year=2025/month=09/day=10/hour=08/"
	legacy := "logs/" + prodID + ".2025-09-10-08.0001.gz"
	v2 := "logs/v2/" + part + prodID + ".2025-09-10-08.0002.parquet"
	var objs []s3test.Object
	for _, k := range []string{
		legacy, v2,
		"logs/ds/_cflens/journal/00000001.json",
		"logs/ds/" + part + "0123abcd.parquet",
		"logs/ds/" + part + "4567ef01.parquet",
		"logs/deep/er/ds2/_cflens/journal/00000001.json",
		"logs/deep/er/ds2/" + part + "89abcdef.parquet",
	} {
		objs = append(objs, s3test.Object{Key: k, Body: []byte(k)})
	}
	s3test.PutObjects(t, c, bucket, objs)
	from, to := day0.Add(8*time.Hour), day0.Add(9*time.Hour)
	tests := []struct {
		name     string
		prefix   string
		ids      []string
		from, to time.Time
		want     []string
		datasets []string
	}{
		{name: "whole prefix", prefix: "logs/", want: []string{legacy, v2}, datasets: []string{"logs/deep/er/ds2/", "logs/ds/"}},
		{name: "the dataset's own prefix, narrowed by distribution and hour", prefix: "logs/ds/", ids: []string{prodID},
			from: from, to: to, datasets: []string{"logs/ds/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := ParseURL("s3://" + bucket + "/" + tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			opts := DefaultOptions()
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if len(tt.ids) > 0 {
				opts.Distributions = map[string]string{}
				for _, id := range tt.ids {
					opts.Distributions[id] = "production"
				}
			}
			s, err := New(c, loc, opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for ref, err := range s.List(context.Background(), tt.from, tt.to) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ref.Key)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			text := strings.TrimSpace(logs.String())
			lines := strings.Split(text, "\n")
			if text == "" {
				lines = nil
			}
			if len(lines) != len(tt.datasets) {
				t.Fatalf("%d messages, want one per dataset %v:\n%s", len(lines), tt.datasets, text)
			}
			for i, ds := range tt.datasets {
				if !strings.Contains(lines[i], "dataset=s3://"+bucket+"/"+ds) {
					t.Errorf("message %q does not name %s", lines[i], ds)
				}
			}
		})
	}
}
