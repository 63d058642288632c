package queries

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cflens/cflens/ingest/schema"
)

// ConvertParams parameterize raw_ddl, the table over the raw legacy
// logs, and convert, which copies one day of it into the cflens
// dataset table ("Database"."Table").
type ConvertParams struct {
	// RawTable names the raw log table, in Database.
	RawTable string
	// RawLocation is the S3 prefix of the raw log objects (raw_ddl).
	RawLocation string
	// Day is the UTC day convert copies.
	Day time.Time
	// Roles maps distribution IDs to roles ("production", "staging"),
	// as ingest's --production and --staging do; other rows get none.
	Roles map[string]string
	// Distributions, when set, limits convert to these IDs: an INSERT
	// INTO writes at most 100 partitions, 24 hours × 4 distributions a
	// day.
	Distributions []string
}

// MaxDistributionsPerInsert is how many distributions one day's INSERT
// INTO may hold: 24 hour partitions each, under Athena's limit of 100
// partitions written per query.
const MaxDistributionsPerInsert = 4

// rawName is the raw table's name of a legacy log column: AWS's
// documented table spells cs(Referer) "cs_referrer".
func rawName(col string) string {
	if col == "cs_referer" {
		return "cs_referrer"
	}
	return col
}

// rawType is the raw table's type of a kind. AWS's documented table
// declares time_taken and time_to_first_byte float; double keeps the
// logged decimals exact, as the dataset has them.
func rawType(k schema.Kind) string {
	switch k {
	case schema.Int32:
		return "int"
	case schema.Int64:
		return "bigint"
	case schema.Float64:
		return "double"
	case schema.Date:
		return "date"
	}
	return "string"
}

// legacyPathRe is the legacy object name in "$path", as ingest reads it
// (ingest.ParseKey): <ID>.YYYY-MM-DD-HH.<unique>[.gz].
const legacyPathRe = `(?:^|/)([A-Za-z0-9]{1,64})\.[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}\.[^/]+$`

type convertData struct {
	RawTable, RawLocation string
	RawColumns            []column
	// Select holds convert's expressions for the dataset columns, in
	// schema order.
	Select        []selectItem
	Day           string
	Distributions []string
	Roles         []tallyRole
	PathRe        string
}

type selectItem struct{ Expr, Name string }

func (c ConvertParams) data(name string) (convertData, error) {
	if c.RawTable == "" {
		c.RawTable = "cloudfront_standard_logs"
	}
	if !identRe.MatchString(c.RawTable) {
		return convertData{}, fmt.Errorf("invalid raw table name %q: use lower-case letters, digits and _", c.RawTable)
	}
	d := convertData{RawTable: c.RawTable, RawLocation: c.RawLocation, PathRe: legacyPathRe}
	for _, i := range schema.LegacyOrder() {
		col := schema.Col(i)
		d.RawColumns = append(d.RawColumns, column{rawName(col.Name), rawType(col.Kind)})
	}
	switch name {
	case "raw_ddl":
		if !strings.HasPrefix(c.RawLocation, "s3://") {
			return convertData{}, fmt.Errorf("raw log location %q: want s3://bucket/prefix/", c.RawLocation)
		}
		if !strings.HasSuffix(d.RawLocation, "/") {
			d.RawLocation += "/"
		}
		return d, nil
	}
	if c.Day.IsZero() {
		return convertData{}, errors.New("convert needs the day to copy")
	}
	d.Day = c.Day.UTC().Format("2006-01-02")
	for _, id := range c.Distributions {
		if !distRe.MatchString(id) {
			return convertData{}, fmt.Errorf("invalid distribution ID %q", id)
		}
	}
	if len(c.Distributions) > MaxDistributionsPerInsert {
		return convertData{}, fmt.Errorf("%d distributions in one day's INSERT INTO: Athena writes at most 100 partitions per query, so at most %d distributions", len(c.Distributions), MaxDistributionsPerInsert)
	}
	d.Distributions = slices.Sorted(slices.Values(c.Distributions))
	for id, role := range c.Roles {
		if !distRe.MatchString(id) {
			return convertData{}, fmt.Errorf("invalid distribution ID %q", id)
		}
		if role != schema.RoleProduction && role != schema.RoleStaging {
			return convertData{}, fmt.Errorf("distribution %s: unknown role %q", id, role)
		}
		d.Roles = append(d.Roles, tallyRole{id, role})
	}
	slices.SortFunc(d.Roles, func(a, b tallyRole) int { return strings.Compare(a.ID, b.ID) })
	dist := "NULLIF(regexp_extract(r.\"$path\", " + quote(legacyPathRe) + ", 1), '')"
	for i, col := range schema.Columns() {
		var e string
		switch {
		case i == schema.Timestamp_:
			e = `CAST(concat(CAST(r."date" AS varchar), ' ', r."time") AS timestamp)`
		case i == schema.DistributionID:
			e = dist
		case i == schema.Role:
			if len(d.Roles) == 0 {
				e = "CAST(NULL AS varchar)"
				break
			}
			var b strings.Builder
			b.WriteString("CASE " + dist)
			for _, r := range d.Roles {
				b.WriteString(" WHEN " + quote(r.ID) + " THEN " + quote(r.Role))
			}
			b.WriteString(" END")
			e = b.String()
		case i == schema.Source:
			e = `r."$path"`
		case i == schema.Line:
			e = "CAST(NULL AS bigint)"
		case i > schema.NumLegacyFields:
			// Fields of standard logging v2 only.
			e = "CAST(NULL AS " + trinoType(col.Kind) + ")"
		case col.Kind == schema.String || col.Kind == schema.DictString:
			// The raw table keeps "-"; ingest reads it as NULL.
			e = "NULLIF(r.\"" + rawName(col.Name) + "\", '-')"
		default:
			e = "r.\"" + rawName(col.Name) + "\""
		}
		d.Select = append(d.Select, selectItem{Expr: e, Name: col.Name})
	}
	return d, nil
}

// trinoType is a kind's type in a Trino CAST.
func trinoType(k schema.Kind) string {
	switch k {
	case schema.Int32:
		return "integer"
	case schema.Int64:
		return "bigint"
	case schema.Float64:
		return "double"
	case schema.Date:
		return "date"
	case schema.Timestamp:
		return "timestamp"
	}
	return "varchar"
}
