package athena

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/queries"
)

// TableRef names the Athena table of a cflens dataset.
type TableRef struct {
	Database, Table string
}

// TallyStatements renders the tally queries for an analysis plan over
// the table: every query prunes by the plan's range (the projected
// year/month/day/hour partitions) and by distributions when given, and
// names only the columns it needs. They are independent of one another.
func TallyStatements(plan analyze.Plan, tbl TableRef, distributions []string) ([]Statement, error) {
	names := make([]string, 0, len(analyze.TallyQueries()))
	for name := range analyze.TallyQueries() {
		names = append(names, name)
	}
	sort.Strings(names)
	tz := "UTC"
	if plan.Options.Location != nil {
		tz = plan.Options.Location.String()
	}
	var out []Statement
	for _, name := range names {
		sql, err := queries.Render(name, queries.Params{
			Database: tbl.Database, Table: tbl.Table, Distributions: slices.Sorted(slices.Values(distributions)),
			TimeZone: tz, Tally: plan.TallyParams(),
		})
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		out = append(out, Statement{Name: name, SQL: sql})
	}
	return out, nil
}

// Tallies turns the executions of the tally statements into tallies.
// objects is the number of dataset objects in the pruned partitions,
// which the SQL cannot count.
func Tallies(plan analyze.Plan, xs []Execution, objects int) (*analyze.Tallies, error) {
	results := make(map[string][][]string, len(xs))
	for _, x := range xs {
		results[x.Name] = x.Result.Rows
	}
	t, err := analyze.TalliesFromRows(plan, results)
	if err != nil {
		return nil, err
	}
	t.SetObjects(int64(objects))
	return t, nil
}

// EngineBlock is the engine block of the analysis result for the
// executions.
func EngineBlock(xs []Execution) *analyze.Engine {
	e := &analyze.Engine{Name: "athena", Queries: []analyze.EngineQuery{}}
	for _, x := range xs {
		q := analyze.EngineQuery{Name: x.Name, ExecutionID: x.ID, ScannedBytes: x.ScannedBytes,
			EngineMillis: x.EngineTime.Milliseconds(), CostUSD: x.Cost()}
		e.Queries = append(e.Queries, q)
		e.ScannedBytes += q.ScannedBytes
		e.EngineMillis += q.EngineMillis
		e.CostUSD += q.CostUSD
	}
	return e
}

// Analyze runs the tally statements on the engine and builds the
// analysis from their results, with the engine block filled in.
func Analyze(ctx context.Context, e *Engine, plan analyze.Plan, stmts []Statement, objects int) (*analyze.Result, []Execution, error) {
	xs, err := e.Run(ctx, stmts)
	if err != nil {
		return nil, nil, err
	}
	t, err := Tallies(plan, xs, objects)
	if err != nil {
		return nil, xs, err
	}
	res := analyze.Build(t, plan)
	res.Engine = EngineBlock(xs)
	return res, xs, nil
}
