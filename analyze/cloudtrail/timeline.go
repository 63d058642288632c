package cloudtrail

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest/schema"
)

// ErrRole is returned when the role of a distribution cannot be told from
// the record.
var ErrRole = errors.New("cannot tell the role of a distribution")

// links are the distributions and policies the timeline follows.
type links struct {
	production, staging string
	// policies are the IDs of the continuous deployment policies linked to
	// the production distribution (named by its configuration) or to the
	// staging distribution (naming its domain).
	policies map[string]bool
	// stagingDomains are the domain names of the staging distribution.
	stagingDomains map[string]bool
}

func ok(ev *event) bool { return ev.ErrorCode == "" && ev.Problem == "" }

// resolve finds the roles of the given distributions and the policies
// linked to them, from the successful events.
func resolve(events []event, production, staging string, others []string) (*links, error) {
	l := &links{production: production, staging: staging, policies: map[string]bool{}, stagingDomains: map[string]bool{}}
	var unresolved []string
	for _, id := range others {
		if id == "" || id == l.production || id == l.staging {
			continue
		}
		role := inferRole(events, id)
		var slot *string
		switch role {
		case schema.RoleProduction:
			slot = &l.production
		case schema.RoleStaging:
			slot = &l.staging
		default:
			unresolved = append(unresolved, id)
			continue
		}
		if *slot != "" && *slot != id {
			return nil, fmt.Errorf("distributions %s and %s both look like the %s distribution: give them with --production and --staging: %w", *slot, id, role, ErrRole)
		}
		*slot = id
	}
	if len(unresolved) > 0 {
		return nil, fmt.Errorf("%s: the record shows no staging flag, policy or promotion for it; give it with --production or --staging: %w", strings.Join(unresolved, ", "), ErrRole)
	}
	// The other half of the pair, from a promotion or a copy.
	for i := range events {
		ev := &events[i]
		if !ok(ev) {
			continue
		}
		switch {
		case ev.Name == evUpdateDistributionWithStagingConfig && l.staging == "" && ev.Distribution == l.production && l.production != "":
			l.staging = ev.Staging
		case ev.Name == evUpdateDistributionWithStagingConfig && l.production == "" && ev.Staging == l.staging && l.staging != "":
			l.production = ev.Distribution
		case ev.Name == evCopyDistribution && l.staging == "" && ev.CopiedFrom == l.production && l.production != "":
			l.staging = ev.Distribution
		case ev.Name == evCopyDistribution && l.production == "" && ev.Distribution == l.staging && l.staging != "":
			l.production = ev.CopiedFrom
		}
	}
	for i := range events {
		ev := &events[i]
		if ok(ev) && ev.Distribution != "" && ev.Distribution == l.staging && ev.Domain != "" && ev.Name != evUpdateDistributionWithStagingConfig {
			l.stagingDomains[strings.ToLower(ev.Domain)] = true
		}
	}
	for i := range events {
		ev := &events[i]
		if !ok(ev) {
			continue
		}
		if ev.Distribution == l.production && l.production != "" && ev.Config != nil && ev.Config.ContinuousDeploymentPolicyID != nil && *ev.Config.ContinuousDeploymentPolicyID != "" {
			l.policies[*ev.Config.ContinuousDeploymentPolicyID] = true
		}
		if ev.PolicyConfig != nil && ev.Policy != "" && l.namesStaging(ev.PolicyConfig) {
			l.policies[ev.Policy] = true
		}
	}
	return l, nil
}

// inferRole tells the role of a distribution from what the record says of
// it: a staging flag in its configuration, being promoted or copied into a
// staging distribution, naming a policy, being promoted into.
func inferRole(events []event, id string) string {
	staging, production := false, false
	for i := range events {
		ev := &events[i]
		if !ok(ev) {
			continue
		}
		if ev.Distribution == id && ev.Config != nil && ev.Config.Staging != nil {
			if *ev.Config.Staging {
				staging = true
			}
		}
		if ev.Distribution == id && ev.Config != nil && ev.Config.ContinuousDeploymentPolicyID != nil && *ev.Config.ContinuousDeploymentPolicyID != "" {
			production = true
		}
		switch ev.Name {
		case evUpdateDistributionWithStagingConfig:
			staging = staging || ev.Staging == id
			production = production || ev.Distribution == id
		case evCopyDistribution:
			staging = staging || ev.Distribution == id
			production = production || ev.CopiedFrom == id
		}
	}
	switch {
	case staging && !production:
		return schema.RoleStaging
	case production && !staging:
		return schema.RoleProduction
	}
	return ""
}

func (l *links) namesStaging(p *policyConfig) bool {
	for _, n := range p.dnsNames() {
		if l.stagingDomains[strings.ToLower(n)] {
			return true
		}
	}
	return false
}

// relevance says whether an event concerns the followed distributions:
// yes, no, or unknown (it names no distribution or policy the timeline could
// check).
type relevance int

const (
	relNo relevance = iota
	relYes
	relUnknown
)

func (l *links) relevant(ev *event) relevance {
	switch ev.Name {
	case evCreateContinuousDeploymentPolicy, evUpdateContinuousDeploymentPolicy:
		if ev.Policy != "" && l.policies[ev.Policy] {
			return relYes
		}
		if ev.PolicyConfig != nil && l.namesStaging(ev.PolicyConfig) {
			return relYes
		}
		if ev.Policy == "" && (ev.PolicyConfig == nil || len(ev.PolicyConfig.dnsNames()) == 0) {
			return relUnknown
		}
		return relNo
	case evUpdateDistributionWithStagingConfig:
		if l.production != "" && ev.Distribution == l.production || l.staging != "" && ev.Staging == l.staging {
			return relYes
		}
	case evCopyDistribution:
		if ev.Distribution != "" && (ev.Distribution == l.production || ev.Distribution == l.staging) {
			return relYes
		}
		if ev.Distribution == "" && ev.CopiedFrom == l.production && l.production != "" {
			return relUnknown
		}
		return relNo
	}
	if ev.Distribution == "" {
		return relUnknown
	}
	if ev.Distribution == l.production || ev.Distribution == l.staging {
		return relYes
	}
	return relNo
}

// policyState is what the record says of one policy.
type policyState struct {
	enabled, sticky *bool
	typ             *string
	weight          *float64
}

func (p *policyState) set(c *policyConfig) {
	*p = policyState{}
	if c.Enabled != nil {
		p.enabled = ptr(*c.Enabled)
	}
	tc := c.TrafficConfig
	if tc == nil {
		return
	}
	switch {
	case strings.EqualFold(tc.Type, "SingleWeight"):
		p.typ = ptr(analyze.PolicyWeighted)
		if w := tc.SingleWeightConfig; w != nil {
			if w.Weight != nil {
				p.weight = ptr(float64(*w.Weight))
			}
			p.sticky = ptr(!isNull(w.SessionStickinessConfig))
		}
	case strings.EqualFold(tc.Type, "SingleHeader"):
		p.typ = ptr(analyze.PolicyHeader)
		p.sticky = ptr(false)
	}
}

func ptr[T any](v T) *T { return &v }

// builder applies events in time order and emits the changes of the
// effective configuration.
type builder struct {
	l *links
	// customErrors by distribution ID.
	customErrors map[string]bool
	// attached is the policy named by the production configuration, once
	// known.
	attached      string
	attachedKnown bool
	policies      map[string]*policyState
	lastPolicy    string

	// emitted is the configuration the changes so far describe.
	emitted analyze.State
	changes []analyze.Change
}

func newBuilder(l *links) *builder {
	return &builder{l: l, customErrors: map[string]bool{}, policies: map[string]*policyState{}}
}

func (b *builder) policy(id string) *policyState {
	p := b.policies[id]
	if p == nil {
		p = &policyState{}
		b.policies[id] = p
	}
	return p
}

// apply updates the state with one successful, relevant event and emits
// the changes it makes.
func (b *builder) apply(ev *event) {
	l := b.l
	switch ev.Name {
	case evUpdateDistribution, evCreateDistribution, evCreateDistributionWithTags:
		b.customErrors[ev.Distribution] = ev.Config.customErrors()
		if ev.Distribution == l.production {
			b.attachedKnown = true
			b.attached = ""
			if id := ev.Config.ContinuousDeploymentPolicyID; id != nil {
				b.attached = *id
			}
		}
	case evCopyDistribution:
		if ev.Config != nil {
			b.customErrors[ev.Distribution] = ev.Config.customErrors()
		} else if v, known := b.customErrors[ev.CopiedFrom]; known {
			b.customErrors[ev.Distribution] = v
		}
	case evUpdateDistributionWithStagingConfig:
		// The primary takes the staging configuration except its aliases
		// and its policy ID, and the policy is disabled.
		// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistributionWithStagingConfig.html
		if ev.Config != nil {
			b.customErrors[ev.Distribution] = ev.Config.customErrors()
		} else if v, known := b.customErrors[ev.Staging]; known {
			b.customErrors[ev.Distribution] = v
		} else {
			delete(b.customErrors, ev.Distribution)
		}
		if id, known := b.currentPolicy(); known && id != "" {
			b.policy(id).enabled = ptr(false)
		}
	case evCreateContinuousDeploymentPolicy, evUpdateContinuousDeploymentPolicy:
		b.policy(ev.Policy).set(ev.PolicyConfig)
		b.lastPolicy = ev.Policy
	}
	b.emit(ev)
}

// currentPolicy returns the policy in effect: the one the production
// configuration names, else the last linked policy seen.
func (b *builder) currentPolicy() (string, bool) {
	if b.attachedKnown {
		return b.attached, true
	}
	if _, seen := b.policies[b.lastPolicy]; seen {
		return b.lastPolicy, true
	}
	return "", false
}

func (b *builder) effective() analyze.State {
	var s analyze.State
	if v, known := b.customErrors[b.l.production]; known && b.l.production != "" {
		s.Production.CustomErrorResponses = ptr(v)
	}
	if v, known := b.customErrors[b.l.staging]; known && b.l.staging != "" {
		s.Staging.CustomErrorResponses = ptr(v)
	}
	id, known := b.currentPolicy()
	switch {
	case !known:
	case id == "":
		// No policy attached: all traffic goes to production.
		s.ContinuousDeployment.Enabled = ptr(false)
	default:
		if p := b.policies[id]; p != nil {
			s.ContinuousDeployment = analyze.PolicyState{Enabled: p.enabled, Type: p.typ, Weight: p.weight, Sticky: p.sticky}
		}
	}
	return s
}

// changed returns v when it is known and differs from the emitted value.
func changed[T comparable](emitted, v *T) *T {
	if v == nil || emitted != nil && *emitted == *v {
		return nil
	}
	return ptr(*v)
}

func (b *builder) emit(ev *event) {
	eff := b.effective()
	note := fmt.Sprintf("%s %s", ev.Name, ev.ID)
	if v := changed(b.emitted.Production.CustomErrorResponses, eff.Production.CustomErrorResponses); v != nil {
		b.add(analyze.Change{At: ev.At, Role: schema.RoleProduction, CustomErrorResponses: v, Note: note})
	}
	if v := changed(b.emitted.Staging.CustomErrorResponses, eff.Staging.CustomErrorResponses); v != nil {
		b.add(analyze.Change{At: ev.At, Role: schema.RoleStaging, CustomErrorResponses: v, Note: note})
	}
	e, n := b.emitted.ContinuousDeployment, eff.ContinuousDeployment
	pc := analyze.PolicyChange{
		Enabled: changed(e.Enabled, n.Enabled),
		Type:    changed(e.Type, n.Type),
		Weight:  changed(e.Weight, n.Weight),
		Sticky:  changed(e.Sticky, n.Sticky),
	}
	if pc.Enabled != nil || pc.Type != nil || pc.Weight != nil || pc.Sticky != nil {
		b.add(analyze.Change{At: ev.At, Role: schema.RoleProduction, ContinuousDeployment: &pc, Note: note})
	}
	for _, f := range []struct{ dst, src **bool }{
		{&b.emitted.Production.CustomErrorResponses, &eff.Production.CustomErrorResponses},
		{&b.emitted.Staging.CustomErrorResponses, &eff.Staging.CustomErrorResponses},
		{&b.emitted.ContinuousDeployment.Enabled, &eff.ContinuousDeployment.Enabled},
		{&b.emitted.ContinuousDeployment.Sticky, &eff.ContinuousDeployment.Sticky},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	if eff.ContinuousDeployment.Type != nil {
		b.emitted.ContinuousDeployment.Type = eff.ContinuousDeployment.Type
	}
	if eff.ContinuousDeployment.Weight != nil {
		b.emitted.ContinuousDeployment.Weight = eff.ContinuousDeployment.Weight
	}
}

// add appends a change, folding it into an earlier change at the same
// instant that sets the same setting: CloudTrail times have a resolution
// of one second, and the timeline allows one value per setting and
// instant. The later event wins.
func (b *builder) add(c analyze.Change) {
	for i := len(b.changes) - 1; i >= 0 && b.changes[i].At.Equal(c.At); i-- {
		p := &b.changes[i]
		if c.CustomErrorResponses != nil && p.CustomErrorResponses != nil && p.Role == c.Role {
			p.CustomErrorResponses = c.CustomErrorResponses
			p.Note += "; " + c.Note
			return
		}
		if c.ContinuousDeployment != nil && p.ContinuousDeployment != nil {
			merged := *p.ContinuousDeployment
			n := c.ContinuousDeployment
			for _, f := range []struct{ dst, src **bool }{{&merged.Enabled, &n.Enabled}, {&merged.Sticky, &n.Sticky}} {
				if *f.src != nil {
					*f.dst = *f.src
				}
			}
			if n.Type != nil {
				merged.Type = n.Type
			}
			if n.Weight != nil {
				merged.Weight = n.Weight
			}
			p.ContinuousDeployment = &merged
			p.Note += "; " + c.Note
			return
		}
	}
	b.changes = append(b.changes, c)
}

// sortEvents orders events by time, then by where they were read, and
// drops second deliveries of an event ID (keeping the first read).
func sortEvents(events []event) (out []event, duplicates int64) {
	sort.SliceStable(events, func(i, j int) bool {
		a, b := &events[i], &events[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Index < b.Index
	})
	seen := make(map[string]bool, len(events))
	out = events[:0]
	for _, ev := range events {
		if seen[ev.ID] {
			duplicates++
			continue
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	return out, duplicates
}

// inRange reports whether t is in [from, to); zero ends are open.
func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// sortedKeys returns the keys of a set in order.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
