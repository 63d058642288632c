package ingest

import (
	"testing"
	"time"
)

func TestParseKey(t *testing.T) {
	h := time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		key  string
		want KeyInfo
		ok   bool
	}{
		{"legacy", "logs/cf/E2QWRUHEXAMPLE.2025-09-10-08.a1b2c3d4.gz", KeyInfo{"E2QWRUHEXAMPLE", h}, true},
		{"legacy no prefix", "E1EXAMPLE.2025-09-10-08.ffff.gz", KeyInfo{"E1EXAMPLE", h}, true},
		{"hive", "AWSLogs/123456789012/CloudFront/DistributionId=E1EXAMPLE/year=2025/month=09/day=10/hour=08/part.gz", KeyInfo{"E1EXAMPLE", h}, true},
		{"hive lower case", "distributionid=E1EXAMPLE/year=2025/month=09/day=10/hour=08/x.parquet", KeyInfo{"E1EXAMPLE", h}, true},
		{"templated", "cf-logs/E1EXAMPLE/2025/09/10/08/file.gz", KeyInfo{"E1EXAMPLE", h}, true},
		// Standard logging v2 layouts as delivered (AWSLogs/<account>/CloudFront/
		// is prepended by CloudWatch vended logs; the account segment is
		// Hive-style when Hive-compatible paths are on).
		{"v2 hive with account", "AWSLogs/aws-account-id=123456789012/CloudFront/DistributionId=E1EXAMPLE/year=2025/month=09/day=10/hour=08/E1EXAMPLE.2025-09-10-08.abcd.gz", KeyInfo{"E1EXAMPLE", h}, true},
		{"v2 hive static segment between", "cloudfront/DistributionId=E1EXAMPLE/my_distribution_log_data/year=2025/month=09/day=10/hour=08/logs/part.parquet", KeyInfo{"E1EXAMPLE", h}, true},
		{"v2 hive without AWSLogs", "raw/cloudfront/distributionid=E1EXAMPLE/year=2025/month=09/day=10/hour=08/x.log.gz", KeyInfo{"E1EXAMPLE", h}, true},
		{"v2 templated with account", "AWSLogs/123456789012/E1EXAMPLE/2025/09/10/08/x.json.gz", KeyInfo{"E1EXAMPLE", h}, true},
		{"v2 templated parquet", "AWSLogs/123456789012/CloudFront/E1EXAMPLE/2025/09/10/08/x.parquet", KeyInfo{"E1EXAMPLE", h}, true},
		{"bad hour", "E1EXAMPLE.2025-09-10-25.ffff.gz", KeyInfo{}, false},
		{"nothing", "notes/readme.txt", KeyInfo{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseKey(tt.key)
			if ok != tt.ok || got != tt.want {
				t.Errorf("ParseKey(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add("logs/E1EXAMPLE.2025-09-10-08.a1b2c3d4.gz")
	f.Add("DistributionId=E1/year=2025/month=02/day=30/hour=08/x")
	f.Add("a/2025/13/01/00/b")
	f.Fuzz(func(t *testing.T, key string) {
		info, ok := ParseKey(key)
		if !ok && (info.DistributionID != "" || !info.Hour.IsZero()) {
			t.Fatalf("not ok but %+v", info)
		}
		if !info.Hour.IsZero() && (info.Hour.Minute() != 0 || info.Hour.Location() != time.UTC) {
			t.Fatalf("hour %v", info.Hour)
		}
	})
}
