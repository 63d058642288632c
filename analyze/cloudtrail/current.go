package cloudtrail

import (
	"fmt"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest/schema"
)

// Current is the configuration the CloudFront API returns at one instant
// (GetDistributionConfig, GetContinuousDeploymentPolicy). Nil fields were
// not read.
type Current struct {
	At time.Time
	// Production and Staging say whether each distribution has custom
	// error responses.
	Production, Staging *bool
	// Policy is the policy attached to the production distribution;
	// Enabled is false when none is attached.
	Policy *analyze.PolicyChange
	// Note is carried into the changes Anchor adds.
	Note string
}

// Anchor completes a timeline read from the record up to now with the
// current configuration, and returns warnings for what it found.
//
// A setting the timeline never sets kept its current value over the whole
// record: Anchor sets it at since (the start of the record read; when zero,
// or after the first change, the first change's time; with no change at
// all, cur.At). A setting whose last value differs from the current one
// changed after the record, or in files that were not read: Anchor sets
// the current value at cur.At and warns.
func Anchor(tl *analyze.Timeline, cur Current, since time.Time) []string {
	if len(tl.Changes) > 0 && (since.IsZero() || tl.Changes[0].At.Before(since)) {
		since = tl.Changes[0].At
	}
	if since.IsZero() || since.After(cur.At) {
		since = cur.At
	}
	last := analyze.State{}
	if ws, err := analyze.Windows(tl, time.Time{}, time.Time{}, 0); err == nil && len(ws) > 0 {
		last = ws[len(ws)-1].State
	}
	var (
		warnings  []string
		initial   []analyze.Change
		latest    []analyze.Change
		note      = cur.Note
		initNote  = note + " (unchanged in the record)"
		stateNote = note + " (differs from the record's last state)"
	)
	if note == "" {
		initNote, stateNote = "current configuration (unchanged in the record)", "current configuration (differs from the record's last state)"
	}
	anchorBool := func(what, role string, got, now *bool, set func(*analyze.Change, *bool)) {
		if now == nil {
			return
		}
		c := analyze.Change{Role: role}
		switch {
		case got == nil:
			c.At, c.Note = since, initNote
			set(&c, ptr(*now))
			initial = append(initial, c)
		case *got != *now:
			c.At, c.Note = cur.At, stateNote
			set(&c, ptr(*now))
			latest = append(latest, c)
			warnings = append(warnings, fmt.Sprintf("%s is %v now but %v after the last change in the record: it changed later, or in files not read", what, *now, *got))
		}
	}
	setErrors := func(c *analyze.Change, v *bool) { c.CustomErrorResponses = v }
	anchorBool("production custom error responses", schema.RoleProduction, last.Production.CustomErrorResponses, cur.Production, setErrors)
	anchorBool("staging custom error responses", schema.RoleStaging, last.Staging.CustomErrorResponses, cur.Staging, setErrors)
	if p := cur.Policy; p != nil {
		lp := last.ContinuousDeployment
		var init, now analyze.PolicyChange
		diff := func(what string, got, want any, unknown bool, setInit, setNow func()) {
			switch {
			case unknown:
				setInit()
			case fmt.Sprint(got) != fmt.Sprint(want):
				setNow()
				warnings = append(warnings, fmt.Sprintf("policy %s is %v now but %v after the last change in the record: it changed later, or in files not read", what, want, got))
			}
		}
		if p.Enabled != nil {
			diff("enabled", deref(lp.Enabled), *p.Enabled, lp.Enabled == nil, func() { init.Enabled = ptr(*p.Enabled) }, func() { now.Enabled = ptr(*p.Enabled) })
		}
		if p.Type != nil {
			diff("type", deref(lp.Type), *p.Type, lp.Type == nil, func() { init.Type = ptr(*p.Type) }, func() { now.Type = ptr(*p.Type) })
		}
		if p.Weight != nil {
			diff("weight", deref(lp.Weight), *p.Weight, lp.Weight == nil, func() { init.Weight = ptr(*p.Weight) }, func() { now.Weight = ptr(*p.Weight) })
		}
		if p.Sticky != nil {
			diff("sticky", deref(lp.Sticky), *p.Sticky, lp.Sticky == nil, func() { init.Sticky = ptr(*p.Sticky) }, func() { now.Sticky = ptr(*p.Sticky) })
		}
		if init != (analyze.PolicyChange{}) {
			initial = append(initial, analyze.Change{At: since, Role: schema.RoleProduction, ContinuousDeployment: &init, Note: initNote})
		}
		if now != (analyze.PolicyChange{}) {
			latest = append(latest, analyze.Change{At: cur.At, Role: schema.RoleProduction, ContinuousDeployment: &now, Note: stateNote})
		}
	}
	b := &builder{changes: initial}
	for _, c := range tl.Changes {
		b.add(c)
	}
	for _, c := range latest {
		b.add(c)
	}
	tl.Changes = b.changes
	return warnings
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
