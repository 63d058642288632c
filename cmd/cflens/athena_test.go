package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cflens/cflens/cmd/internal/usage"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestAthenaSQLList(t *testing.T) {
	got, err := runCLI(t, "athena", "sql", "--list")
	if err != nil {
		t.Fatal(err)
	}
	want := `convert             Copy one UTC day of the raw log table into the cflens dataset table, in its schema and partitions (one INSERT per day: at most 100 partitions per query).
ddl                 Athena table over the cflens Parquet dataset, with partition projection.
hour_profile        Requests and 5xx responses per configuration window, role and hour of day (in the time zone named by tz).
raw_ddl             Athena table over the raw legacy CloudFront access logs (AWS's documented table), for 'cflens athena convert'.
result_types_5xx    Edge result types of the 5xx responses per configuration window, role and sc-status.
window_role_status  Requests per configuration window, role and sc-status, with each status's share of the window and role.
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAthenaCommands(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		contains []string
		usage    string // expected usage error text, or ""
	}{
		{"ddl", []string{"athena", "ddl", "--location", "s3://b/p", "--distribution", "E1A,E2B", "--years", "2024-2025", "--database", "cf", "--table", "logs"},
			[]string{"CREATE EXTERNAL TABLE IF NOT EXISTS `cf`.`logs` (", "'projection.distributionid.values' = 'E1A,E2B'", "'projection.year.range' = '2024,2025'", "LOCATION 's3://b/p/'"}, ""},
		{"ddl without location", []string{"athena", "ddl", "--distribution", "E1"}, nil, "missing --location"},
		{"raw ddl", []string{"athena", "ddl", "--raw", "--location", "s3://logs/cf"},
			[]string{"CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`cloudfront_standard_logs` (", "LOCATION 's3://logs/cf/'", "every query of this table reads all of it"}, ""},
		{"raw ddl named", []string{"athena", "ddl", "--raw", "--location", "s3://logs/cf", "--table", "raw"}, []string{"`default`.`raw` ("}, ""},
		{"raw ddl without location", []string{"athena", "ddl", "--raw"}, nil, "--location"},
		{"convert", []string{"athena", "convert", "--from", "2025-09-10", "--to", "2025-09-12", "--production", "E1PRD"},
			[]string{"-- convert 2025-09-10\n", "INSERT INTO \"default\".\"cflens_logs\"", "-- convert 2025-09-11\n", "WHEN 'E1PRD' THEN 'production'"}, ""},
		{"convert of many distributions", []string{"athena", "convert", "--from", "2025-09-10", "--to", "2025-09-11", "--distribution", "E1,E2,E3,E4,E5"},
			[]string{"-- convert 2025-09-10 part 1\n", "IN ('E1', 'E2', 'E3', 'E4')", "-- convert 2025-09-10 part 2\n", "IN ('E5')"}, ""},
		{"convert without days", []string{"athena", "convert", "--from", "2025-09-10"}, nil, "--to"},
		{"convert run without estimate", []string{"athena", "convert", "--from", "2025-09-10", "--to", "2025-09-11", "--run"}, nil, "cannot estimate"},
		{"sql convert", []string{"athena", "sql", "convert"}, nil, "own command"},
		{"ddl with a local location", []string{"athena", "ddl", "--location", "./ds", "--distribution", "E1"}, nil, "not an s3:// prefix"},
		{"ddl without distribution", []string{"athena", "ddl", "--location", "s3://b/"}, nil, "missing --distribution"},
		{"ddl with bad years", []string{"athena", "ddl", "--location", "s3://b/", "--distribution", "E1", "--years", "20x4"}, nil, "years"},
		{"sql", []string{"athena", "sql", "window_role_status", "--param", "window=on,2025-09-10T07:00:00Z,2025-09-10T08:00:00Z", "--param", "table=t"},
			[]string{`FROM "default"."t" AS l`, "('on', TIMESTAMP '2025-09-10 07:00:00.000', TIMESTAMP '2025-09-10 08:00:00.000')"}, ""},
		{"sql without window", []string{"athena", "sql", "hour_profile"}, nil, "at least one window"},
		{"sql unknown query", []string{"athena", "sql", "nope"}, nil, `unknown query "nope"`},
		{"sql bad param", []string{"athena", "sql", "hour_profile", "--param", "colour=red"}, nil, `unknown parameter "colour"`},
		{"sql without name", []string{"athena", "sql"}, nil, "want one query name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCLI(t, tc.args...)
			if tc.usage != "" {
				var ue *usage.Error
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.usage) {
					t.Fatalf("error %v, want a usage error containing %q", err, tc.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.contains {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestAthenaDDLDefaultYears(t *testing.T) {
	var b bytes.Buffer
	o := &athenaDDLOptions{location: "s3://b/", database: "default", table: "cflens_logs", distributions: []string{"E1"}}
	s := &IOStreams{Out: &b, Now: func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }}
	if err := runAthenaDDL(context.Background(), o, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "'projection.year.range' = '2021,NOW'") {
		t.Errorf("years not derived from the clock:\n%s", b.String())
	}
}
