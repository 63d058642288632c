package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/cflens/cflens/analyze"
)

// CSP is the Content-Security-Policy of every page: nothing may load or
// run, styles come only from the page itself, images only from data URIs.
// The pages hold no script at all.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

//go:embed page.html.tmpl
var pageTemplate string

// templates parses the page templates; html/template escapes every value
// for where it lands (text, attribute, SVG), so nothing from a log can
// become markup.
func templates() (*template.Template, error) {
	t, err := template.New("page").Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse report template: %w", err)
	}
	return t, nil
}

type kv struct{ Key, Value string }

// htmlFinding is a finding with the tests behind it.
type htmlFinding struct {
	Statement string
	Tests     []string
}

type htmlReport struct {
	CSP      string
	Title    string
	Headline string
	Summary  []kv
	Matrix   table
	Findings []htmlFinding
	Main     table
	Charts   []svgChart
	Details  []table
	Warnings []string
	Schema   string
}

// HTML writes the analysis as one self-contained HTML page: inline CSS
// (light and dark), inline SVG charts with numbers on hover and in tables
// beside them, no script, and a strict Content-Security-Policy.
func HTML(w io.Writer, r *analyze.Result) error {
	t, err := templates()
	if err != nil {
		return err
	}
	r = cleaned(r)
	page := htmlReport{
		CSP:      CSP,
		Title:    "cflens analysis " + timeText(r.Range.From) + " – " + timeText(r.Range.To),
		Headline: headline(r),
		Matrix:   matrixTable(r),
		Main:     windowsTable(r),
		Schema:   r.Schema,
	}
	for _, s := range summaryRows(r) {
		page.Summary = append(page.Summary, kv{s[0], s[1]})
	}
	for _, f := range r.Findings {
		page.Findings = append(page.Findings, htmlFinding{f.Statement, f.Tests})
	}
	rate, share := hourCharts(r)
	page.Charts = []svgChart{
		timeChart(r),
		rate,
		share,
		typesChart(r, "chart-result-types", "x-edge-result-type", func(c analyze.Cell) map[string]int64 { return c.ResultTypes500 }),
		typesChart(r, "chart-detailed-types", "x-edge-detailed-result-type", func(c analyze.Cell) map[string]int64 { return c.DetailedResultTypes500 }),
	}
	page.Details = detailTables(r)
	page.Warnings = r.Warnings
	if err := t.ExecuteTemplate(w, "report", page); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	return nil
}

// cleaned returns a copy of r whose strings are single printable lines
// (oneLine): control characters from a log have no business in a page,
// even escaped.
func cleaned(r *analyze.Result) *analyze.Result {
	c := *r
	c.Schema, c.Timezone, c.ErrorPathRule = oneLine(r.Schema), oneLine(r.Timezone), oneLine(r.ErrorPathRule)
	c.Distributions = analyze.Distributions{Production: oneLine(r.Distributions.Production), Staging: oneLine(r.Distributions.Staging)}
	paths := func(ps []analyze.PathCount) []analyze.PathCount {
		out := make([]analyze.PathCount, len(ps))
		for i, p := range ps {
			p.Stem = oneLine(p.Stem)
			out[i] = p
		}
		return out
	}
	c.ErrorPaths.Top, c.ErrorPaths.TopGood500 = paths(r.ErrorPaths.Top), paths(r.ErrorPaths.TopGood500)
	c.Windows = make([]analyze.Window, len(r.Windows))
	for i, w := range r.Windows {
		w.Label = oneLine(w.Label)
		if t := w.State.ContinuousDeployment.Type; t != nil {
			w.State.ContinuousDeployment.Type = new(oneLine(*t))
		}
		c.Windows[i] = w
	}
	counts := func(m map[string]int64) map[string]int64 {
		out := make(map[string]int64, len(m))
		for k, v := range m {
			out[oneLine(k)] += v
		}
		return out
	}
	c.Cells = make([]analyze.Cell, len(r.Cells))
	for i, x := range r.Cells {
		x.Role = oneLine(x.Role)
		x.Status, x.ResultTypes500 = counts(x.Status), counts(x.ResultTypes500)
		x.ResponseResultTypes500, x.DetailedResultTypes500 = counts(x.ResponseResultTypes500), counts(x.DetailedResultTypes500)
		c.Cells[i] = x
	}
	c.Hours = make([]analyze.Hour, len(r.Hours))
	for i, h := range r.Hours {
		h.Role = oneLine(h.Role)
		c.Hours[i] = h
	}
	c.Weekdays = make([]analyze.Weekday, len(r.Weekdays))
	for i, d := range r.Weekdays {
		d.Role, d.Name = oneLine(d.Role), oneLine(d.Name)
		c.Weekdays[i] = d
	}
	c.PeakHours.Rule = oneLine(r.PeakHours.Rule)
	groups := func(gs []analyze.RateGroup) []analyze.RateGroup {
		out := make([]analyze.RateGroup, len(gs))
		for i, g := range gs {
			g.Role = oneLine(g.Role)
			out[i] = g
		}
		return out
	}
	c.PeakHours.Inside, c.PeakHours.Outside = groups(r.PeakHours.Inside), groups(r.PeakHours.Outside)
	c.Series.Points = make([]analyze.Point, len(r.Series.Points))
	for i, p := range r.Series.Points {
		p.Role = oneLine(p.Role)
		c.Series.Points[i] = p
	}
	c.Tests = make([]analyze.Test, len(r.Tests))
	for i, t := range r.Tests {
		t.Name, t.Method, t.Warning = oneLine(t.Name), oneLine(t.Method), oneLine(t.Warning)
		t.Groups = lines(t.Groups)
		c.Tests[i] = t
	}
	c.Findings = make([]analyze.Finding, len(r.Findings))
	for i, f := range r.Findings {
		f.Kind, f.Statement, f.Tests = oneLine(f.Kind), oneLine(f.Statement), lines(f.Tests)
		c.Findings[i] = f
	}
	c.Matrix.Cells = make([]analyze.MatrixCell, len(r.Matrix.Cells))
	for i, m := range r.Matrix.Cells {
		m.Role = oneLine(m.Role)
		c.Matrix.Cells[i] = m
	}
	c.Matrix.Rule = oneLine(r.Matrix.Rule)
	c.Warnings = lines(r.Warnings)
	return &c
}

func lines(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = oneLine(s)
	}
	return out
}
