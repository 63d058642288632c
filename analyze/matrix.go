package analyze

import (
	"fmt"
	"strings"
)

// matrixState is one configuration of custom error responses.
type matrixState struct{ prod, stg bool }

// matrixStates are the configurations in the matrix's order.
var matrixStates = [4]matrixState{{false, false}, {false, true}, {true, false}, {true, true}}

func (s matrixState) label() string {
	switch {
	case s.prod && s.stg:
		return "on both"
	case s.prod:
		return "on production only"
	case s.stg:
		return "on staging only"
	}
	return "off on both"
}

// outsidePeaks sums the rows of each window × role outside peak hours.
func (a *analysis) outsidePeaks(errFine *fineSet) {
	a.outside = sumBy(&a.global.fine, errFine, func(k fineKey) cellKey {
		if a.inPeak(k) {
			return cellKey{window: -1}
		}
		return cellKey{k.window, k.role}
	})
}

// outsideCounts returns the counts of window index wi (of the result) and
// role outside peak hours.
func (a *analysis) outsideCounts(wi int, r uint8) groupCounts {
	if s := a.outside[cellKey{int32(wi + a.off), r}]; s != nil {
		return *s
	}
	return groupCounts{}
}

// windowState returns the custom error configuration of a result window
// that counts in the matrix: policy enabled, both settings known.
func (a *analysis) windowState(wi int) (matrixState, bool) {
	w := a.windows[wi+a.off].State
	p, s := w.Production.CustomErrorResponses, w.Staging.CustomErrorResponses
	if !a.enabled[wi+a.off] || p == nil || s == nil {
		return matrixState{}, false
	}
	return matrixState{*p, *s}, true
}

// buildMatrix pools the windows of an enabled policy by configuration,
// outside peak hours.
func (a *analysis) buildMatrix(res *Result) {
	m := &res.Matrix
	m.Rule = "error-path requests of the windows whose continuous deployment policy was enabled, outside peak hours, pooled by the custom error responses of both distributions"
	m.Windows = []int{}
	type cell struct {
		windows []int
		all     [numRoles]groupCounts
	}
	var cells [4]cell
	var unknown []string
	for wi, w := range res.Windows {
		st, ok := a.windowState(wi)
		if !ok {
			if a.enabled[wi+a.off] {
				unknown = append(unknown, fmt.Sprint(w.ID))
			}
			continue
		}
		i := stateIndex(st)
		cells[i].windows = append(cells[i].windows, w.ID)
		m.Windows = append(m.Windows, w.ID)
		for r := roleProd; r < numRoles; r++ {
			o := a.outsideCounts(wi, r)
			cells[i].all[r].all.merge(o.all)
			cells[i].all[r].err.merge(o.err)
		}
	}
	for _, p := range res.PeakHours.ByWindow {
		if p.Peak {
			m.PeakErrorPathRequests += p.ErrorPathRequests
		}
	}
	m.Cells = []MatrixCell{}
	var never []string
	for i, st := range matrixStates {
		c := cells[i]
		if len(c.windows) == 0 && len(m.Windows) > 0 {
			never = append(never, "custom error responses "+st.label())
		}
		for r := roleProd; r < numRoles; r++ {
			s := c.all[r]
			mc := MatrixCell{ProductionCustomErrors: st.prod, StagingCustomErrors: st.stg, Role: roleNames[r],
				Observed: len(c.windows) > 0, Windows: append([]int{}, c.windows...),
				Requests: s.all.req, ErrorPathRequests: s.err.req, ErrorPath500: s.err.s500}
			if s.err.req > 0 {
				rate, ci := s.rate500()
				mc.Rate500, mc.Rate500CI95 = &rate, &ci
			}
			m.Cells = append(m.Cells, mc)
		}
	}
	switch {
	case len(m.Windows) == 0:
		res.Warnings = append(res.Warnings, "configuration matrix: no window has both the continuous deployment policy known to be enabled and the custom error responses of both distributions known")
	case len(never) > 0:
		res.Warnings = append(res.Warnings, "configuration matrix: never observed while the policy was enabled: "+strings.Join(never, ", "))
	}
	if len(unknown) > 0 {
		res.Warnings = append(res.Warnings, "configuration matrix: windows "+strings.Join(unknown, ", ")+" are left out: the custom error responses of a distribution are unknown there")
	}
	for _, c := range m.Cells {
		if c.Observed && c.ErrorPathRequests == 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("configuration matrix: %s with custom error responses %s had no error-path requests outside peak hours; its 500 share is n/a",
				c.Role, matrixState{c.ProductionCustomErrors, c.StagingCustomErrors}.label()))
		}
	}
}

func stateIndex(s matrixState) int {
	i := 0
	if s.prod {
		i += 2
	}
	if s.stg {
		i++
	}
	return i
}
