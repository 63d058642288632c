package s3source

import (
	"strings"
	"testing"
)

// FuzzParseURL: any input either fails or gives a location whose String
// parses back to the same location.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://bucket", "s3://bucket/", "s3://bucket/prefix", "s3://bucket/a/b/", "s3://b/x",
		"s3://bucket//a", "https://bucket/", "s3://user@bucket/", "s3://bucket/a?b", "s3://bucket:9000/",
		"s3://my.bucket-1/%2e%2e/", "s3://bucket/../x/",
		"S3://004/000I0000%000000 ", // found by fuzzing: a decoded NUL in the prefix
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseURL(s)
		if err != nil {
			return
		}
		if loc.Prefix != "" && !strings.HasSuffix(loc.Prefix, "/") {
			t.Fatalf("ParseURL(%q) = %+v: prefix is not a folder", s, loc)
		}
		back, err := ParseURL(loc.String())
		if err != nil || back != loc {
			t.Fatalf("ParseURL(%q) = %+v; %q reads back as %+v, %v", s, loc, loc.String(), back, err)
		}
	})
}

// FuzzTemplateMatch: parsing any template and matching any key never
// panics, and a match names a valid hour and an ID of letters and digits.
func FuzzTemplateMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/", "E1ABC/2025/09/10/08/x.gz"},
		{"AWSLogs/{account-id}/CloudFront/DistributionId={DistributionId}/year={yyyy}/month={MM}/day={dd}/hour={HH}/",
			"AWSLogs/123/CloudFront/DistributionId=E1/year=2025/month=09/day=10/hour=08/x.gz"},
		{"{yyyy}/{MM}/{dd}/{HH}/", "2025/13/40/99/x"},
		{"logs/{", "logs/x"},
		{"{}", ""},
		{"{yyyy}{MM}{dd}{HH}", "2025091008"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, tmpl, key string) {
		tp, err := parseTemplate(tmpl)
		if err != nil {
			return
		}
		tp.folder(key)
		id, hour, ok := tp.match(key)
		if !ok {
			return
		}
		for _, c := range id {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				t.Fatalf("template %q on %q gives ID %q", tmpl, key, id)
			}
		}
		if !hour.IsZero() && (hour.Location().String() != "UTC" || hour.Minute() != 0 || hour.Second() != 0) {
			t.Fatalf("template %q on %q gives hour %v", tmpl, key, hour)
		}
	})
}
