package analyze

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/cflens/cflens/queries"
)

// TallyQueries are the queries of package queries whose results
// TalliesFromRows turns into tallies, with the columns of their rows in
// order.
func TallyQueries() map[string][]string {
	return map[string][]string{
		"tally_input": {"analyzed", "out_of_range", "settling", "unknown_role", "min_ms", "max_ms"},
		"tally_fine": {"window_index", "role", "clock_hour", "bucket", "requests", "status_4xx", "status_500", "status_5xx",
			"error_path_requests", "error_path_4xx", "error_path_500", "error_path_5xx"},
		"tally_cells": {"window_index", "role", "status_slot", "edge_type", "response_type", "detailed_type", "requests"},
		"tally_paths": {"kind", "stem", "stems", "error_stems", "requests", "status_500"},
	}
}

// TallyParams returns the parameters under which the tally queries
// count what the local engine counts with this plan.
func (p Plan) TallyParams() queries.TallyParams {
	o := p.Options
	t := queries.TallyParams{From: o.From, To: o.To, Bucket: o.Bucket, TopPaths: o.TopPaths, Roles: map[string]string{}}
	for _, w := range p.Windows {
		t.Windows = append(t.Windows, queries.TallyWindow{To: w.To, SettleUntil: w.SettleUntil})
	}
	if o.Production != "" {
		t.Roles[o.Production] = roleNames[roleProd]
	}
	if o.Staging != "" {
		t.Roles[o.Staging] = roleNames[roleStaging]
	}
	for id, r := range o.Roles {
		t.Roles[id] = r
	}
	if o.ErrorPath != nil {
		t.ErrorPath = o.ErrorPath.String()
	}
	return t
}

// TalliesFromRows builds tallies from the results of the tally queries
// (see TallyQueries), run with p.TallyParams() and the plan's time zone:
// rows of string cells, as Athena's GetQueryResults or its result CSV
// give them, an empty cell standing for NULL. A first row that repeats
// the column names is skipped. The SQL cannot know how many objects
// were read: Objects stays 0 unless set with SetObjects.
func TalliesFromRows(p Plan, results map[string][][]string) (*Tallies, error) {
	t := &Tallies{cells: map[cellKey]*cellAgg{}, minTs: math.MaxInt64, maxTs: math.MinInt64}
	for name, cols := range TallyQueries() {
		rows, ok := results[name]
		if !ok {
			return nil, fmt.Errorf("no result of query %s", name)
		}
		if len(rows) > 0 && slices.Equal(rows[0], cols) {
			rows = rows[1:]
		}
		for i, r := range rows {
			if len(r) != len(cols) {
				return nil, fmt.Errorf("query %s row %d: %d cells, want %d", name, i+1, len(r), len(cols))
			}
			var err error
			switch name {
			case "tally_input":
				err = t.inputRow(r)
			case "tally_fine":
				err = t.fineRow(p, r)
			case "tally_cells":
				err = t.cellRow(p, r)
			case "tally_paths":
				err = t.pathRow(r)
			}
			if err != nil {
				return nil, fmt.Errorf("query %s row %d: %w", name, i+1, err)
			}
		}
	}
	sortPaths(t.paths.top, pathRequests)
	sortPaths(t.paths.topGood500, path500)
	return t, nil
}

// SetObjects sets the number of objects the tallies were counted from.
func (t *Tallies) SetObjects(n int64) { t.objects = n }

// cellInts parses integer cells; an empty cell is 0 unless null is
// given, which then receives whether it was empty.
func cellInt(s string, what string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: not an integer", what, s)
	}
	return v, nil
}

func cellInts(r []string, names []string, dst ...*int64) error {
	for i, d := range dst {
		v, err := cellInt(r[i], names[i])
		if err != nil {
			return err
		}
		*d = v
	}
	return nil
}

func (t *Tallies) inputRow(r []string) error {
	cols := TallyQueries()["tally_input"]
	if err := cellInts(r[:4], cols, &t.rows, &t.outOfRange, &t.settling, &t.unknownRole); err != nil {
		return err
	}
	if r[4] != "" {
		if err := cellInts(r[4:], cols[4:], &t.minTs, &t.maxTs); err != nil {
			return err
		}
	}
	return nil
}

// windowRole parses the window number and role cells.
func windowRole(p Plan, w, role string) (int32, uint8, error) {
	wi, err := strconv.Atoi(w)
	if err != nil || wi < 0 || wi >= len(p.Windows) {
		return 0, 0, fmt.Errorf("window %q: not one of the plan's %d windows", w, len(p.Windows))
	}
	rc := roleCode(role)
	if rc == roleNone {
		return 0, 0, fmt.Errorf("role %q: neither production nor staging", role)
	}
	return int32(wi), rc, nil
}

func (t *Tallies) fineRow(p Plan, r []string) error {
	w, role, err := windowRole(p, r[0], r[1])
	if err != nil {
		return err
	}
	k := fineKey{window: w, role: role}
	var all, errs counts
	cols := TallyQueries()["tally_fine"]
	if err := cellInts(r[2:], cols[2:], &k.hour, &k.bucket, &all.req, &all.s4xx, &all.s500, &all.s5xx,
		&errs.req, &errs.s4xx, &errs.s500, &errs.s5xx); err != nil {
		return err
	}
	t.fine.vals[t.fine.at(k)].merge(all)
	if errs.req > 0 {
		t.errFine.vals[t.errFine.at(k)].merge(errs)
	}
	return nil
}

func (t *Tallies) cellRow(p Plan, r []string) error {
	w, role, err := windowRole(p, r[0], r[1])
	if err != nil {
		return err
	}
	slot, err := cellInt(r[2], "status slot")
	if err != nil {
		return err
	}
	if slot < 0 || slot >= statusSlots {
		return fmt.Errorf("status slot %d: out of range", slot)
	}
	n, err := cellInt(r[6], "requests")
	if err != nil {
		return err
	}
	ck := cellKey{w, role}
	c := t.cells[ck]
	if c == nil {
		c = newCellAgg()
		t.cells[ck] = c
	}
	c.status[slot] += n
	if slot == 500 {
		for k := range c.rt {
			c.rt[k][r[3+k]] += n
		}
	}
	return nil
}

func (t *Tallies) pathRow(r []string) error {
	cols := TallyQueries()["tally_paths"]
	switch r[0] {
	case "summary":
		return cellInts(r[2:], cols[2:], &t.paths.stems, &t.paths.errStems, &t.paths.requests, &t.paths.status500)
	case "top", "top_good_500":
		pc := PathCount{Stem: r[1]}
		if err := cellInts(r[4:], cols[4:], &pc.Requests, &pc.Status500); err != nil {
			return err
		}
		if r[0] == "top" {
			t.paths.top = append(t.paths.top, pc)
		} else {
			t.paths.topGood500 = append(t.paths.topGood500, pc)
		}
		return nil
	}
	return fmt.Errorf("kind %q: unknown", r[0])
}
