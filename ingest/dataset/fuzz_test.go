package dataset

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParsePartition: any key either names no partition or names one
// whose folder reads back as the same partition.
func FuzzParsePartition(f *testing.F) {
	for _, s := range []string{
		"distributionid=E1/year=2025/month=09/day=10/hour=08/x.parquet",
		"distributionid=unknown/year=2024/month=02/day=29/hour=23/x.parquet",
		"DistributionId=E1/Year=2025/Month=9/Day=1/Hour=0/x.parquet",
		"distributionid=E1/year=2025/month=13/day=01/hour=00/x.parquet",
		"distributionid=../year=2025/month=01/day=01/hour=00/x.parquet",
		"x.parquet", "", "a=b=c/d", "year=-1/month=0/day=0/hour=-5/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		p, ok := ParsePartition(key)
		if !ok {
			return
		}
		if p.DistributionID == "" {
			t.Fatalf("ParsePartition(%q) = %+v, ok", key, p)
		}
		if strings.Contains(p.DistributionID, "/") {
			return // a slash in the ID makes another folder level
		}
		back, ok := ParsePartition(p.Dir() + "/x.parquet")
		if !ok || back.DistributionID != p.DistributionID || !back.Hour.Equal(p.Hour) {
			t.Fatalf("ParsePartition(%q) = %+v; its folder %q reads back as %+v, %v", key, p, p.Dir(), back, ok)
		}
	})
}

// FuzzDirStorePath: a key the folder store accepts maps to a path inside
// its root, whatever the key holds.
func FuzzDirStorePath(f *testing.F) {
	for _, s := range []string{
		"a/b.parquet", "../b", "a/../../b", "/etc/passwd", `a\..\b`, "a//b", "a/./b", "",
		"_cflens/journal/00000000000000000001.json", "distributionid=../x", "..", ".", "a/..",
	} {
		f.Add(s)
	}
	root := filepath.Join(f.TempDir(), "root")
	d := &DirStore{root: root}
	f.Fuzz(func(t *testing.T, key string) {
		p, err := d.path(key)
		if err != nil {
			return
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." || !filepath.IsLocal(rel) {
			t.Fatalf("key %q maps to %q, outside the root %q", key, p, root)
		}
	})
}
