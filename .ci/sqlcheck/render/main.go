// Command render writes every SQL statement cflens ships, rendered with
// representative parameters, into a folder as <statement>.<dialect>.sql,
// for .ci/sqlcheck/check.mjs to parse: the DDL in Hive's dialect, the
// queries in Trino's.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/queries"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: render DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	day := time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)
	windows := []queries.Window{
		{Name: "both on", Start: day.Add(7 * time.Hour), End: day.Add(8*time.Hour + 30*time.Minute)},
		{Name: "prod's", Start: day.Add(8*time.Hour + 30*time.Minute), End: day.Add(10 * time.Hour)},
	}
	dists := []string{"E1PRODEXAMPLE", "E2STAGEXAMPLE"}
	roles := map[string]string{"E1PRODEXAMPLE": "production", "E2STAGEXAMPLE": "staging"}
	type variant struct {
		name string
		p    queries.Params
	}
	ddl := queries.Params{Database: "cflens", Table: "logs", Location: "s3://bucket/cflens/", Distributions: dists, YearFrom: 2021}
	ddlFixed := ddl
	ddlFixed.YearTo = 2027
	tally := func(o analyze.Options) queries.Params {
		plan, err := analyze.NewPlan(o)
		if err != nil {
			panic(err)
		}
		return queries.Params{Database: "cflens", Table: "logs", Distributions: dists, TimeZone: o.Location.String(), Tally: plan.TallyParams()}
	}
	tl, err := analyze.ParseTimeline([]byte(timeline), "timeline")
	if err != nil {
		return err
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return err
	}
	plain := analyze.Options{Timeline: tl, Location: time.UTC, Roles: roles}
	ranged := analyze.Options{Timeline: tl, Location: paris, Roles: roles, From: day, To: day.Add(48 * time.Hour),
		Settle: 2 * time.Minute, ErrorPath: regexp.MustCompile(`^/(missing|gone)/`)}
	n := 0
	for _, q := range append(queries.List(), queries.Tallies()...) {
		var vs []variant
		switch {
		case q.Name == "ddl":
			vs = []variant{{"open-years", ddl}, {"fixed-years", ddlFixed}}
		case q.Name == "raw_ddl":
			vs = []variant{{"", queries.Params{Database: "cflens", Convert: queries.ConvertParams{RawTable: "raw", RawLocation: "s3://logs/cf/"}}}}
		case q.Name == "convert":
			vs = []variant{
				{"all", queries.Params{Database: "cflens", Table: "logs", Convert: queries.ConvertParams{RawTable: "raw", Day: day}}},
				{"roles", queries.Params{Database: "cflens", Table: "logs", Convert: queries.ConvertParams{RawTable: "raw", Day: day, Roles: roles, Distributions: dists}}},
			}
		case strings.HasPrefix(q.Name, "tally_"):
			vs = []variant{{"plain", tally(plain)}, {"ranged", tally(ranged)}}
		default:
			vs = []variant{{"", queries.Params{Database: "cflens", Table: "logs", Windows: windows, Distributions: dists, TimeZone: "Europe/Paris"}}}
		}
		for _, v := range vs {
			sql, err := queries.Render(q.Name, v.p)
			if err != nil {
				return fmt.Errorf("%s %s: %w", q.Name, v.name, err)
			}
			dialect := "trino"
			if strings.HasSuffix(q.Name, "ddl") {
				dialect = "hive"
			}
			name := q.Name
			if v.name != "" {
				name += "-" + v.name
			}
			if err := os.WriteFile(filepath.Join(dir, name+"."+dialect+".sql"), []byte(sql), 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Fprintf(os.Stderr, "render: %d statements in %s\n", n, dir)
	return nil
}

const timeline = `
distributions:
  production: E1PRODEXAMPLE
  staging: E2STAGEXAMPLE
changes:
  - at: 2025-09-10T08:30:00Z
    role: production
    custom_error_responses: true
  - at: 2025-09-10T20:00:00Z
    role: staging
    custom_error_responses: true
`
