package queries

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/cflens/cflens/ingest/schema"
)

//go:embed *.sql
var files embed.FS

// Window is a configuration window: a maximal interval of constant
// configuration, [Start, End).
type Window struct {
	Name       string
	Start, End time.Time
}

// Params fill in the templates.
type Params struct {
	// Database and Table name the Athena table (DDL, and the default
	// relation of the analysis queries).
	Database, Table string
	// Location is the dataset's S3 prefix, s3://bucket/prefix/ (DDL).
	Location string
	// Distributions are the distribution IDs: the DDL's projection enum,
	// and a filter of the analysis queries when set.
	Distributions []string
	// YearFrom is the first projected year (DDL). YearTo, when set, is
	// the last; zero projects up to the current year, whatever it is
	// when a query runs (a date projection ending at NOW).
	YearFrom, YearTo int
	// Relation is what the analysis queries read FROM; empty means the
	// table "Database"."Table". For DuckDB over a local copy:
	// read_parquet('dir/**/*.parquet', hive_partitioning = true).
	Relation string
	// Windows are the configuration windows of the analysis queries.
	Windows []Window
	// TimeZone names the zone of the hour of day (default UTC).
	TimeZone string
	// Tally parameterizes the tally queries (tally_*).
	Tally TallyParams
	// Convert parameterizes raw_ddl and convert.
	Convert ConvertParams
}

// TallyParams are the parameters of the tally queries: what the local
// engine is given to count the same tallies.
type TallyParams struct {
	// Windows are the configuration windows in order; a row belongs to
	// the first window whose end is after it (the last one otherwise).
	Windows []TallyWindow
	// From and To bound the analysis (zero: unbounded); rows outside
	// are counted as out of range, and partitions wholly outside are not
	// read.
	From, To time.Time
	// Bucket is the width of the time buckets (a whole number of
	// milliseconds).
	Bucket time.Duration
	// Roles maps distribution IDs to roles ("production" or "staging");
	// a row's role is its distribution ID's, else its role column's.
	Roles map[string]string
	// ErrorPath, when set, is the expression that marks error paths;
	// otherwise an error path is a stem that never got a 2xx or 3xx.
	ErrorPath string
	// TopPaths is the length of the top path lists.
	TopPaths int
}

// TallyWindow is one window of the tally queries: its end and the end
// of its settle margin (zero: none).
type TallyWindow struct {
	To, SettleUntil time.Time
}

// tallyData is what the tally templates see of TallyParams.
type tallyData struct {
	Windows        []tallyWindow
	LastWindow     int
	HasFrom, HasTo bool
	From, Last     time.Time
	FromMS, ToMS   int64
	BucketMS       int64
	Roles          []tallyRole
	ErrorPath      string
	TopPaths       int
}

type tallyWindow struct {
	HasTo, HasSettle bool
	ToMS, SettleMS   int64
}

type tallyRole struct{ ID, Role string }

func (t TallyParams) data() (tallyData, error) {
	if len(t.Windows) == 0 {
		return tallyData{}, errors.New("the tally queries need at least one window")
	}
	if t.Bucket <= 0 || t.Bucket%time.Millisecond != 0 {
		return tallyData{}, fmt.Errorf("bucket %s: want a positive whole number of milliseconds", t.Bucket)
	}
	if t.TopPaths <= 0 {
		return tallyData{}, fmt.Errorf("top paths %d: want at least 1", t.TopPaths)
	}
	d := tallyData{
		LastWindow: len(t.Windows) - 1,
		HasFrom:    !t.From.IsZero(), HasTo: !t.To.IsZero(),
		From: t.From, FromMS: t.From.UnixMilli(), ToMS: t.To.UnixMilli(),
		BucketMS: t.Bucket.Milliseconds(), ErrorPath: t.ErrorPath, TopPaths: t.TopPaths,
	}
	if d.HasTo {
		d.Last = t.To.Add(-time.Millisecond)
	}
	for _, w := range t.Windows {
		d.Windows = append(d.Windows, tallyWindow{
			HasTo: !w.To.IsZero(), ToMS: w.To.UnixMilli(),
			HasSettle: !w.SettleUntil.IsZero(), SettleMS: w.SettleUntil.UnixMilli(),
		})
	}
	for id, role := range t.Roles {
		if !distRe.MatchString(id) {
			return tallyData{}, fmt.Errorf("invalid distribution ID %q", id)
		}
		if role != schema.RoleProduction && role != schema.RoleStaging {
			return tallyData{}, fmt.Errorf("distribution %s: unknown role %q", id, role)
		}
		d.Roles = append(d.Roles, tallyRole{id, role})
	}
	slices.SortFunc(d.Roles, func(a, b tallyRole) int { return strings.Compare(a.ID, b.ID) })
	return d, nil
}

// Query describes one embedded query.
type Query struct {
	Name        string
	Description string
}

var (
	errNoQuery = errors.New("no such query")
	identRe    = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	distRe     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// List returns the embedded queries a user runs (the DDL and the
// analysis queries), by name.
func List() []Query { return list(false) }

// Tallies returns the tally queries, by name: what an analysis engine
// runs with Params.Tally to count the tallies of package analyze.
func Tallies() []Query { return list(true) }

func list(tallies bool) []Query {
	ents, _ := fs.ReadDir(files, ".")
	var out []Query
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".sql")
		if !ok || strings.HasSuffix(name, "common") || strings.HasPrefix(name, "tally_") != tallies {
			continue
		}
		b, _ := files.ReadFile(e.Name())
		desc, _, _ := strings.Cut(string(b), "\n")
		out = append(out, Query{Name: name, Description: strings.TrimSpace(strings.TrimPrefix(desc, "--"))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// column is a DDL column.
type column struct{ Name, Type string }

// data is what the templates see.
type data struct {
	Params
	Columns []column
	Span    struct{ Start, Last time.Time }
	Tally   tallyData
	Convert convertData
}

// Render returns query name with p filled in.
func Render(name string, p Params) (string, error) {
	if !slices.ContainsFunc(append(List(), Tallies()...), func(q Query) bool { return q.Name == name }) {
		return "", fmt.Errorf("%w: %q", errNoQuery, name)
	}
	if p.Database == "" {
		p.Database = "default"
	}
	if p.Table == "" {
		p.Table = "cflens_logs"
	}
	if p.TimeZone == "" {
		p.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil {
		return "", fmt.Errorf("time zone %q: %w", p.TimeZone, err)
	}
	for _, s := range []string{p.Database, p.Table} {
		if !identRe.MatchString(s) {
			return "", fmt.Errorf("invalid name %q: use lower-case letters, digits and _", s)
		}
	}
	for _, d := range p.Distributions {
		if !distRe.MatchString(d) {
			return "", fmt.Errorf("invalid distribution ID %q", d)
		}
	}
	if p.Relation == "" {
		p.Relation = `"` + p.Database + `"."` + p.Table + `"`
	}
	d := data{Params: p}
	if name == "ddl" {
		if len(p.Distributions) == 0 {
			return "", errors.New("the DDL needs the distribution IDs for partition projection")
		}
		if !strings.HasPrefix(p.Location, "s3://") {
			return "", fmt.Errorf("location %q: want s3://bucket/prefix/", p.Location)
		}
		if !strings.HasSuffix(d.Location, "/") {
			d.Location += "/"
		}
		if p.YearFrom <= 0 || p.YearTo != 0 && p.YearTo < p.YearFrom {
			return "", fmt.Errorf("projected years %d-%d: want a first year such as 2024, or a range such as 2024-2026", p.YearFrom, p.YearTo)
		}
		for _, c := range schema.Columns() {
			d.Columns = append(d.Columns, column{c.Name, schema.AthenaType(c.Kind)})
		}
	} else if name == "raw_ddl" || name == "convert" {
		cd, err := p.Convert.data(name)
		if err != nil {
			return "", err
		}
		d.Convert = cd
	} else if strings.HasPrefix(name, "tally_") {
		td, err := p.Tally.data()
		if err != nil {
			return "", err
		}
		d.Tally = td
	} else {
		if len(p.Windows) == 0 {
			return "", errors.New("the analysis queries need at least one window")
		}
		for i, w := range p.Windows {
			if !w.End.After(w.Start) {
				return "", fmt.Errorf("window %q ends before it starts", w.Name)
			}
			if i == 0 || w.Start.Before(d.Span.Start) {
				d.Span.Start = w.Start
			}
			if last := w.End.Add(-time.Millisecond); i == 0 || last.After(d.Span.Last) {
				d.Span.Last = last
			}
		}
	}
	t, err := template.New("").Funcs(funcs).ParseFS(files, "*.sql")
	if err != nil {
		return "", fmt.Errorf("parse queries: %w", err)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name+".sql", d); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

var funcs = template.FuncMap{
	"str":  quote,
	"join": strings.Join,
	// ts is a timestamp literal in UTC with milliseconds, as both Trino
	// and DuckDB read it.
	"ts": func(t time.Time) string {
		return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000") + "'"
	},
	// hourKey is year*1000000 + month*10000 + day*100 + hour, comparable
	// with the same expression over the partition columns.
	"hourKey": func(t time.Time) string {
		t = t.UTC()
		return strconv.Itoa(t.Year()*1000000 + int(t.Month())*10000 + t.Day()*100 + t.Hour())
	},
}

// quote makes an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// SetParam sets one parameter from its command-line form key=value:
// database, table, location, relation, tz, distributions (comma-separated),
// years (2024 for 2024 to the current year, or 2024-2026), window (name,start,end with RFC 3339 times; repeat
// for more windows).
func (p *Params) SetParam(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("parameter %q: want key=value", kv)
	}
	switch strings.ToLower(strings.TrimSpace(k)) {
	case "database":
		p.Database = v
	case "table":
		p.Table = v
	case "location":
		p.Location = v
	case "relation":
		p.Relation = v
	case "tz":
		p.TimeZone = v
	case "distributions", "distribution":
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				p.Distributions = append(p.Distributions, d)
			}
		}
	case "years":
		a, b, ranged := strings.Cut(v, "-")
		from, err1 := strconv.Atoi(a)
		to, err2 := 0, error(nil)
		if ranged {
			to, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			return fmt.Errorf("parameter years=%q: want FROM or FROM-TO, e.g. 2024 or 2024-2026", v)
		}
		p.YearFrom, p.YearTo = from, to
	case "window":
		parts := strings.Split(v, ",")
		if len(parts) != 3 {
			return fmt.Errorf("parameter window=%q: want name,start,end", v)
		}
		start, err := time.Parse(time.RFC3339, parts[1])
		if err != nil {
			return fmt.Errorf("parameter window=%q: start: %w", v, err)
		}
		end, err := time.Parse(time.RFC3339, parts[2])
		if err != nil {
			return fmt.Errorf("parameter window=%q: end: %w", v, err)
		}
		p.Windows = append(p.Windows, Window{Name: parts[0], Start: start, End: end})
	default:
		return fmt.Errorf("unknown parameter %q", k)
	}
	return nil
}
