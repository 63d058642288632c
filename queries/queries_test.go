package queries

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/schema"
)

var ddlParams = Params{
	Database: "logs", Table: "cf", Location: "s3://bucket/data",
	Distributions: []string{"E1PROD", "E2STAGE"}, YearFrom: 2024, YearTo: 2026,
}

// TestDDLColumnsMatchSchema parses the rendered DDL's column list and
// compares it with the record schema, so the two cannot drift.
func TestDDLColumnsMatchSchema(t *testing.T) {
	ddl, err := Render("ddl", ddlParams)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(ddl, "(\n")
	end := strings.Index(ddl, "\n)\nPARTITIONED BY")
	if start < 0 || end < start {
		t.Fatalf("no column list in\n%s", ddl)
	}
	colRe := regexp.MustCompile("^\\s*,?`([a-z0-9_]+)` ([a-z]+)$")
	var got [][2]string
	for _, line := range strings.Split(ddl[start+2:end], "\n") {
		m := colRe.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected column line %q", line)
		}
		got = append(got, [2]string{m[1], m[2]})
	}
	var want [][2]string
	for _, c := range schema.Columns() {
		want = append(want, [2]string{c.Name, schema.AthenaType(c.Kind)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DDL columns differ from the schema (-schema +ddl):\n%s", diff)
	}
}

func TestDDLProjection(t *testing.T) {
	ddl, err := Render("ddl", ddlParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CREATE EXTERNAL TABLE IF NOT EXISTS `logs`.`cf` (",
		"STORED AS PARQUET",
		"LOCATION 's3://bucket/data/'",
		"'projection.enabled' = 'true'",
		"'projection.distributionid.type' = 'enum'",
		"'projection.distributionid.values' = 'E1PROD,E2STAGE'",
		"'projection.year.type' = 'date'",
		"'projection.year.format' = 'yyyy'",
		"'projection.year.range' = '2024,2026'",
		"'projection.year.interval.unit' = 'YEARS'",
		"-- The projected years end in 2026: rows of later years stay invisible",
		"'projection.hour.range' = '0,23'",
		"'projection.hour.digits' = '2'",
		"'storage.location.template' = 's3://bucket/data/distributionid=${distributionid}/year=${year}/month=${month}/day=${day}/hour=${hour}/'",
	} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q:\n%s", want, ddl)
		}
	}
}

// TestDDLOpenEndedYears: without a last year the year projection ends at
// NOW, so that a table created today still sees next year's partitions.
func TestDDLOpenEndedYears(t *testing.T) {
	p := ddlParams
	p.YearTo = 0
	ddl, err := Render("ddl", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "'projection.year.range' = '2024,NOW'") || strings.Contains(ddl, "projected years end") {
		t.Errorf("year projection not open-ended, or said to end:\n%s", ddl)
	}
	for _, col := range []string{"year", "month", "day", "hour"} {
		// String partition columns: the values are the folders' zero-padded
		// text, which INSERT INTO then writes back the same way.
		if !strings.Contains(ddl, "`"+col+"` string") {
			t.Errorf("partition column %s is not a string:\n%s", col, ddl)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	w := []Window{{Name: "a", Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}}
	for _, tc := range []struct {
		name, query string
		p           Params
		want        string
	}{
		{"unknown query", "nope", Params{}, "no such query"},
		{"ddl without distributions", "ddl", Params{Location: "s3://b/", YearFrom: 2024, YearTo: 2025}, "distribution IDs"},
		{"ddl with local location", "ddl", Params{Location: "/tmp/x", Distributions: []string{"E1"}, YearFrom: 2024, YearTo: 2025}, "want s3://"},
		{"ddl without years", "ddl", Params{Location: "s3://b/", Distributions: []string{"E1"}}, "projected years"},
		{"ddl with years backwards", "ddl", Params{Location: "s3://b/", Distributions: []string{"E1"}, YearFrom: 2026, YearTo: 2024}, "projected years"},
		{"bad table name", "ddl", Params{Table: "x; DROP", Location: "s3://b/", Distributions: []string{"E1"}, YearFrom: 2024, YearTo: 2025}, "invalid name"},
		{"bad distribution", "window_role_status", Params{Windows: w, Distributions: []string{"E1'"}}, "invalid distribution"},
		{"no windows", "hour_profile", Params{}, "at least one window"},
		{"empty window", "hour_profile", Params{Windows: []Window{{Name: "x", Start: w[0].End, End: w[0].Start}}}, "ends before"},
		{"bad time zone", "hour_profile", Params{Windows: w, TimeZone: "Mars/Base"}, "time zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.query, tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAnalysisQueriesRender(t *testing.T) {
	p := Params{Windows: []Window{
		{Name: "both on", Start: time.Date(2025, 9, 10, 7, 0, 0, 0, time.UTC), End: time.Date(2025, 9, 10, 8, 30, 0, 0, time.UTC)},
		{Name: "prod's", Start: time.Date(2025, 9, 10, 8, 30, 0, 0, time.UTC), End: time.Date(2025, 9, 10, 10, 0, 0, 0, time.UTC)},
	}, Distributions: []string{"E1"}}
	for _, q := range List() {
		if q.Name == "ddl" || q.Name == "raw_ddl" || q.Name == "convert" {
			continue
		}
		t.Run(q.Name, func(t *testing.T) {
			sql, err := Render(q.Name, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				`FROM "default"."cflens_logs" AS l`,
				"('both on', TIMESTAMP '2025-09-10 07:00:00.000', TIMESTAMP '2025-09-10 08:30:00.000')",
				"('prod''s', TIMESTAMP '2025-09-10 08:30:00.000', TIMESTAMP '2025-09-10 10:00:00.000')",
				"BETWEEN 2025091007 AND 2025091009",
				"l.distributionid IN ('E1')",
			} {
				if !strings.Contains(sql, want) {
					t.Errorf("%s lacks %q:\n%s", q.Name, want, sql)
				}
			}
			if q.Description == "" {
				t.Errorf("%s has no description comment", q.Name)
			}
		})
	}
}

func TestSetParam(t *testing.T) {
	var p Params
	for _, kv := range []string{"database=db", "table=t", "tz=Europe/Paris", "distributions=E1, E2", "years=2024-2026",
		"window=on,2025-09-10T07:00:00Z,2025-09-10T08:00:00Z", "window=off,2025-09-10T08:00:00Z,2025-09-10T09:00:00Z"} {
		if err := p.SetParam(kv); err != nil {
			t.Fatalf("SetParam(%q): %v", kv, err)
		}
	}
	want := Params{Database: "db", Table: "t", TimeZone: "Europe/Paris", Distributions: []string{"E1", "E2"}, YearFrom: 2024, YearTo: 2026,
		Windows: []Window{
			{"on", time.Date(2025, 9, 10, 7, 0, 0, 0, time.UTC), time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)},
			{"off", time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC), time.Date(2025, 9, 10, 9, 0, 0, 0, time.UTC)},
		}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"nokey", "color=red", "years=20x4", "years=2024-", "window=a,b"} {
		if err := p.SetParam(bad); err == nil {
			t.Errorf("SetParam(%q) accepted", bad)
		}
	}
}

func TestTallyQueriesRender(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2025, 9, 10, h, m, 0, 0, time.UTC) }
	p := Params{TimeZone: "America/New_York", Tally: TallyParams{
		Windows: []TallyWindow{{To: at(8, 30)}, {To: at(10, 0), SettleUntil: at(8, 35)}},
		From:    at(7, 0), To: at(10, 0), Bucket: 5 * time.Minute,
		Roles:    map[string]string{"E2": "staging", "E1": "production"},
		TopPaths: 20,
	}}
	var names []string
	for _, q := range Tallies() {
		names = append(names, q.Name)
		sql, err := Render(q.Name, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"AT TIME ZONE 'America/New_York'",
			"CASE l.distribution_id WHEN 'E1' THEN 'production' WHEN 'E2' THEN 'staging' END",
			">= 2025091007",
			"<= 2025091009",
			"WHEN s.ms < 1757493000000 THEN 0 WHEN s.ms < 1757498400000 THEN 1 ELSE 1 END",
			"/ 300000",
			"OR p.ms < 1757487600000 OR p.ms >= 1757498400000 THEN 'out_of_range'",
			"WHEN p.window_index = 1 AND p.ms < 1757493300000 THEN 'settling'",
			"max(CASE WHEN status >= 200 AND status < 400 AND NOT (status < 300 AND COALESCE(edge_type, '') = 'Error') THEN 1 ELSE 0 END) AS good",
		} {
			if !strings.Contains(sql, want) {
				t.Errorf("%s lacks %q:\n%s", q.Name, want, sql)
			}
		}
	}
	if want := []string{"tally_cells", "tally_fine", "tally_input", "tally_paths"}; !slices.Equal(names, want) {
		t.Errorf("tally queries %v, want %v", names, want)
	}
	p.Tally.ErrorPath = `^/missing/`
	sql, err := Render("tally_fine", p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "CASE WHEN regexp_replace(stem, '^/missing/', chr(9)) <> stem THEN 0 ELSE 1 END AS good"; !strings.Contains(sql, want) {
		t.Errorf("tally_fine with an expression lacks %q", want)
	}
	p.Tally.Windows = nil
	if _, err := Render("tally_fine", p); err == nil {
		t.Error("tally query without windows rendered")
	}
}

// TestConvertRender: the day's INSERT names one expression per dataset
// column, in schema order, then the five partition columns; it copies
// one day, maps the roles and takes the source from "$path".
func TestConvertRender(t *testing.T) {
	sql, err := Render("convert", Params{Database: "cf", Table: "logs", Convert: ConvertParams{
		RawTable: "raw", Day: time.Date(2025, 9, 10, 15, 0, 0, 0, time.UTC),
		Roles: map[string]string{"E2STG": "staging", "E1PRD": "production"}, Distributions: []string{"E2STG", "E1PRD"}}})
	if err != nil {
		t.Fatal(err)
	}
	asRe := regexp.MustCompile(`(?m)^    [ ,](.*) AS "([a-z0-9_]+)"$`)
	var got []string
	for _, m := range asRe.FindAllStringSubmatch(sql, -1) {
		got = append(got, m[2])
	}
	var want []string
	for _, c := range schema.Columns() {
		want = append(want, c.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("selected columns (-schema +convert):\n%s\n%s", diff, sql)
	}
	for _, w := range []string{
		`INSERT INTO "cf"."logs"`,
		`FROM "cf"."raw" AS r`,
		`WHERE r."date" = DATE '2025-09-10'`,
		`CAST(concat(CAST(r."date" AS varchar), ' ', r."time") AS timestamp) AS "timestamp"`,
		`NULLIF(r."cs_referrer", '-') AS "cs_referer"`,
		`r."$path" AS "source"`,
		`CAST(NULL AS bigint) AS "line"`,
		`WHEN 'E1PRD' THEN 'production' WHEN 'E2STG' THEN 'staging' END AS "role"`,
		`IN ('E1PRD', 'E2STG')`,
		`lpad(CAST(hour(c."timestamp") AS varchar), 2, '0') AS hour`,
	} {
		if !strings.Contains(sql, w) {
			t.Errorf("convert lacks %q:\n%s", w, sql)
		}
	}
	if _, err := Render("convert", Params{Convert: ConvertParams{Day: time.Now(), Distributions: []string{"A1", "A2", "A3", "A4", "A5"}}}); err == nil ||
		!strings.Contains(err.Error(), "at most 100 partitions") {
		t.Errorf("five distributions in a day: error %v", err)
	}
}

func TestRawDDLRender(t *testing.T) {
	ddl, err := Render("raw_ddl", Params{Database: "cf", Convert: ConvertParams{RawTable: "raw", RawLocation: "s3://logs/cf"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"CREATE EXTERNAL TABLE IF NOT EXISTS `cf`.`raw` (", " `date` date", ",`cs_referrer` string", ",`time_taken` double",
		",`connection_id` string", "FIELDS TERMINATED BY '\\t'", "LOCATION 's3://logs/cf/'", "'skip.header.line.count' = '2'"} {
		if !strings.Contains(ddl, w) {
			t.Errorf("raw DDL lacks %q:\n%s", w, ddl)
		}
	}
}
