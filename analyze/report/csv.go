package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cflens/cflens/analyze"
)

// ErrUnknownTable is returned by CSV for a table name not in CSVTables.
var ErrUnknownTable = errors.New("unknown table")

// csvTables are the CSV tables in order, each with its builder.
var csvTables = [...]struct {
	name  string
	build func(*analyze.Result) csvTable
}{
	{"matrix", csvMatrix},
	{"windows", csvWindows},
	{"cells", csvCells},
	{"result_types", csvResultTypes},
	{"hours", csvHours},
	{"weekdays", csvWeekdays},
	{"peak_hours", csvPeakHours},
	{"series", csvSeries},
	{"tests", csvTests},
	{"findings", csvFindings},
	{"error_paths", csvErrorPaths},
	{"compare_detected", csvCompareDetected},
}

// CSVTables names the tables that CSV writes, in a fixed order; a report
// folder holds one file <name>.csv per table.
func CSVTables() []string {
	names := make([]string, len(csvTables))
	for i, t := range csvTables {
		names[i] = t.name
	}
	return names
}

// CSV writes one table of the analysis as CSV with a header row. Numbers
// are written in fixed formats (shares as fractions with 6 decimals,
// times in RFC 3339 UTC), so a spreadsheet reads them as numbers.
//
// Text cells are single lines with control characters replaced (a log
// field never holds a raw TAB or newline, and an escape sequence has no
// business in a file people cat). Formula injection: a string cell that starts with '=', '+', '-', '@',
// TAB or CR gets a leading apostrophe, so that spreadsheets show it as
// text instead of running it (OWASP "CSV Injection"). Numeric cells are
// ours, never text from a log, and are left alone, so negative numbers
// (risk differences) stay numbers.
func CSV(w io.Writer, r *analyze.Result, name string) error {
	for _, t := range csvTables {
		if t.name != name {
			continue
		}
		tab := t.build(r)
		cw := csv.NewWriter(w)
		if err := cw.Write(tab.head); err != nil {
			return fmt.Errorf("write %s table: %w", name, err)
		}
		rec := make([]string, len(tab.head))
		for _, row := range tab.rows {
			for i := range rec {
				rec[i] = ""
				if i < len(row) {
					rec[i] = row[i].value()
				}
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("write %s table: %w", name, err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write %s table: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("csv table %q: %w", name, ErrUnknownTable)
}

type csvCell struct {
	s    string
	text bool
}

// value is the cell as written: text protected against formula
// injection, numbers as they are.
func (c csvCell) value() string {
	if !c.text {
		return c.s
	}
	s := oneLine(c.s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type csvTable struct {
	head []string
	rows [][]csvCell
}

func (t *csvTable) add(cells ...csvCell) { t.rows = append(t.rows, cells) }

func str(s string) csvCell     { return csvCell{s: s, text: true} }
func num(n int64) csvCell      { return csvCell{s: strconv.FormatInt(n, 10)} }
func inum(n int) csvCell       { return csvCell{s: strconv.Itoa(n)} }
func share(f float64) csvCell  { return csvCell{s: fixed(f, 6)} }
func when(t time.Time) csvCell { return csvCell{s: timeRFC(t)} }
func float(f float64) csvCell  { return csvCell{s: strconv.FormatFloat(f, 'g', 6, 64)} }

// boolCell writes a tri-state setting: true, false or empty (unknown).
func boolCell(b *bool) csvCell {
	if b == nil {
		return csvCell{}
	}
	return csvCell{s: strconv.FormatBool(*b)}
}

// csvRate writes a rate and its interval, or n/a three times when the
// group had no requests (n = 0).
func csvRate(rate float64, ci [2]float64, n int64) []csvCell {
	if n == 0 {
		return []csvCell{str(na), str(na), str(na)}
	}
	return []csvCell{share(rate), share(ci[0]), share(ci[1])}
}

func csvMatrix(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"production_custom_errors", "staging_custom_errors", "role", "observed", "windows",
		"requests", "error_path_requests", "error_path_500", "rate_500", "rate_500_ci95_low", "rate_500_ci95_high"}}
	for _, c := range r.Matrix.Cells {
		ids := make([]string, len(c.Windows))
		for i, id := range c.Windows {
			ids[i] = strconv.Itoa(id)
		}
		rate, ci, n := 0.0, [2]float64{}, int64(0)
		if c.Rate500 != nil && c.Rate500CI95 != nil {
			rate, ci, n = *c.Rate500, *c.Rate500CI95, c.ErrorPathRequests
		}
		t.add(append([]csvCell{boolCell(&c.ProductionCustomErrors), boolCell(&c.StagingCustomErrors), str(c.Role), boolCell(&c.Observed),
			str(strings.Join(ids, " ")), num(c.Requests), num(c.ErrorPathRequests), num(c.ErrorPath500)}, csvRate(rate, ci, n)...)...)
	}
	return t
}

func csvWindows(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"window", "from", "to", "settle_until", "custom_errors_production", "custom_errors_staging",
		"policy_enabled", "policy_type", "policy_weight", "policy_sticky", "label"}}
	for _, w := range r.Windows {
		p := w.State.ContinuousDeployment
		typ, weight := csvCell{}, csvCell{}
		if p.Type != nil {
			typ = str(*p.Type)
		}
		if p.Weight != nil {
			weight = share(*p.Weight)
		}
		t.add(inum(w.ID), when(w.From), when(w.To), when(w.SettleUntil),
			boolCell(w.State.Production.CustomErrorResponses), boolCell(w.State.Staging.CustomErrorResponses),
			boolCell(p.Enabled), typ, weight, boolCell(p.Sticky), str(w.Label))
	}
	return t
}

func csvCells(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"window", "role", "requests", "status_500", "status_5xx",
		"error_path_requests", "error_path_4xx", "error_path_500", "error_path_5xx", "good_path_requests", "good_path_500",
		"rate_500", "rate_500_ci95_low", "rate_500_ci95_high", "rate_5xx", "rate_5xx_ci95_low", "rate_5xx_ci95_high",
		"rate_500_all", "rate_500_all_ci95_low", "rate_500_all_ci95_high", "rate_5xx_all", "rate_5xx_all_ci95_low", "rate_5xx_all_ci95_high",
		"hidden_errors", "client_disconnects", "error_2xx_unknown"}}
	for _, c := range r.Cells {
		row := []csvCell{inum(c.Window), str(c.Role), num(c.Requests), num(c.Status500), num(c.Status5xx),
			num(c.ErrorPathRequests), num(c.ErrorPath4xx), num(c.ErrorPath500), num(c.ErrorPath5xx),
			num(c.GoodPathRequests), num(c.GoodPath500)}
		row = append(row, csvRate(c.Rate500, c.Rate500CI95, c.ErrorPathRequests)...)
		row = append(row, csvRate(c.Rate5xx, c.Rate5xxCI95, c.ErrorPathRequests)...)
		row = append(row, csvRate(c.Rate500All, c.Rate500AllCI95, c.Requests)...)
		row = append(row, csvRate(c.Rate5xxAll, c.Rate5xxAllCI95, c.Requests)...)
		t.add(append(row, num(c.HiddenErrors), num(c.ClientDisconnects), num(c.Unknown2xx))...)
	}
	return t
}

// csvResultTypes is long: one row per window × role × field × value.
func csvResultTypes(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"window", "role", "field", "value", "status_500"}}
	for _, c := range r.Cells {
		for _, f := range []struct {
			field string
			m     map[string]int64
		}{
			{"x_edge_result_type", c.ResultTypes500},
			{"x_edge_response_result_type", c.ResponseResultTypes500},
			{"x_edge_detailed_result_type", c.DetailedResultTypes500},
		} {
			for _, k := range sortedCounts(f.m) {
				t.add(inum(c.Window), str(c.Role), str(f.field), str(k), num(f.m[k]))
			}
		}
	}
	return t
}

func csvHours(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"role", "hour", "requests", "error_path_requests", "status_500", "error_path_500",
		"staging_share", "rate_500", "rate_500_ci95_low", "rate_500_ci95_high", "peak_hours"}}
	for _, h := range r.Hours {
		row := []csvCell{str(h.Role), inum(h.Hour), num(h.Requests), num(h.ErrorPathRequests), num(h.Status500), num(h.ErrorPath500),
			share(h.StagingShare)}
		t.add(append(append(row, csvRate(h.Rate500, h.Rate500CI95, h.ErrorPathRequests)...), inum(h.PeakHours))...)
	}
	return t
}

func csvWeekdays(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"role", "day", "name", "requests", "error_path_requests", "status_500", "error_path_500",
		"staging_share", "rate_500", "rate_500_ci95_low", "rate_500_ci95_high"}}
	for _, d := range r.Weekdays {
		row := []csvCell{str(d.Role), inum(d.Day), str(d.Name), num(d.Requests), num(d.ErrorPathRequests), num(d.Status500), num(d.ErrorPath500),
			share(d.StagingShare)}
		t.add(append(row, csvRate(d.Rate500, d.Rate500CI95, d.ErrorPathRequests)...)...)
	}
	return t
}

func csvPeakHours(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"from", "to", "window", "requests", "staging_requests", "staging_share", "expected_share"}}
	for _, p := range r.PeakHours.Hours {
		t.add(when(p.From), when(p.To), inum(p.Window), num(p.Requests), num(p.Staging), share(p.StagingShare), share(p.ExpectedShare))
	}
	return t
}

func csvSeries(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"time", "role", "requests", "error_path_requests", "status_500", "error_path_500", "rate_500"}}
	for _, p := range r.Series.Points {
		t.add(when(p.Time), str(p.Role), num(p.Requests), num(p.ErrorPathRequests), num(p.Status500), num(p.ErrorPath500),
			csvRate(p.Rate500, [2]float64{}, p.ErrorPathRequests)[0])
	}
	return t
}

// csvTests is long: one row per test × group, the test's figures
// repeated.
func csvTests(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"test", "method", "group", "status_500", "not_500", "statistic", "df", "p_value", "effect",
		"risk_difference", "risk_difference_ci95_low", "risk_difference_ci95_high", "warning", "p_adjusted", "significant", "strata"}}
	for _, x := range r.Tests {
		rd, lo, hi := csvCell{}, csvCell{}, csvCell{}
		if x.RiskDifference != nil {
			rd = share(*x.RiskDifference)
		}
		if x.RiskDifferenceCI95 != nil {
			lo, hi = share(x.RiskDifferenceCI95[0]), share(x.RiskDifferenceCI95[1])
		}
		for i, g := range x.Groups {
			var c [2]int64
			if i < len(x.Table) {
				c = x.Table[i]
			}
			adj := csvCell{}
			if x.PAdjusted != nil {
				adj = float(*x.PAdjusted)
			}
			t.add(str(x.Name), str(x.Method), str(g), num(c[0]), num(c[1]), float(x.Statistic), inum(x.DF), float(x.PValue),
				share(x.Effect), rd, lo, hi, str(x.Warning), adj, boolCell(&x.Significant), str(strings.Join(x.Strata, "; ")))
		}
	}
	return t
}

func csvFindings(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"rank", "kind", "statement", "evidence", "tests"}}
	for _, f := range r.Findings {
		keys := make([]string, 0, len(f.Evidence))
		for k := range f.Evidence {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ev := make([]string, len(keys))
		for i, k := range keys {
			ev[i] = k + "=" + strconv.FormatFloat(f.Evidence[k], 'g', -1, 64)
		}
		t.add(inum(f.Rank), str(f.Kind), str(f.Statement), str(strings.Join(ev, ";")), str(strings.Join(f.Tests, "; ")))
	}
	return t
}

func csvErrorPaths(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"list", "stem", "requests", "status_500"}}
	for _, p := range r.ErrorPaths.Top {
		t.add(str("error"), str(p.Stem), num(p.Requests), num(p.Status500))
	}
	for _, p := range r.ErrorPaths.TopGood500 {
		t.add(str("good_500"), str(p.Stem), num(p.Requests), num(p.Status500))
	}
	return t
}

// csvCompareDetected has a row per recorded change (with the nearest
// detected change) and per detected change nothing recorded explains;
// it is empty unless the analysis compared them.
func csvCompareDetected(r *analyze.Result) csvTable {
	t := csvTable{head: []string{"recorded_at", "from", "to", "detected_at", "detected_low", "detected_high", "lag_seconds", "effects", "explained"}}
	c := r.CompareDetected
	if c == nil {
		return t
	}
	effects := func(es []analyze.EffectReport) csvCell { return str(effectsText(es)) }
	for _, m := range c.Recorded {
		if m.Nearest == nil {
			t.add(when(m.At), str(m.From), str(m.To), str(""), str(""), str(""), str(""), str(""), str("no"))
			continue
		}
		explained := "no"
		if m.Matched {
			explained = "yes"
		}
		n := m.Nearest
		t.add(when(m.At), str(m.From), str(m.To), when(n.At), when(n.Low), when(n.High), float(*m.LagSeconds), effects(n.Effects), str(explained))
	}
	for _, u := range c.Unexplained {
		t.add(str(""), str(""), str(""), when(u.At), when(u.Low), when(u.High), str(""), effects(u.Effects), str("unexplained"))
	}
	return t
}
