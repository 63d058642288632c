package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cflens/cflens/ingest/schema"
)

// Timeline lists configuration changes of a production distribution, its
// staging distribution and their continuous deployment policy, in time
// order.
type Timeline struct {
	// Distributions names the distribution IDs; either may be empty when
	// given elsewhere (command-line flags).
	Distributions Distributions
	Changes       []Change
}

// Change is one change at one instant. A change sets custom error
// responses of one distribution (Role and CustomErrorResponses), or
// fields of the continuous deployment policy (ContinuousDeployment), or
// both.
type Change struct {
	At time.Time
	// Role is "production" or "staging"; it is required with
	// CustomErrorResponses and may be empty (or "production") with a
	// policy change, the policy being attached to the production
	// distribution.
	Role                 string
	CustomErrorResponses *bool
	ContinuousDeployment *PolicyChange
	// Note is free text carried along (e.g. the CloudTrail event ID).
	Note string
	// Detected marks a change found in the logs (cflens windows detect)
	// rather than recorded: it may set nothing, and it always starts a
	// new window, whose state stays what the recorded changes made it
	// (unknown when there are none).
	Detected bool
	// Line is the line of the change in the file it was read from (0 when
	// built in code).
	Line int
}

// PolicyChange sets some fields of the continuous deployment policy; nil
// fields keep their previous value.
type PolicyChange struct {
	Enabled *bool
	// Type is "weighted" or "header".
	Type *string
	// Weight is the share of traffic sent to staging, in [0, 1].
	Weight *float64
	Sticky *bool
}

// Policy types.
const (
	PolicyWeighted = "weighted"
	PolicyHeader   = "header"
)

// TimelineError is a problem in a timeline file, at a line.
type TimelineError struct {
	File string
	Line int
	Msg  string
}

func (e *TimelineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ReadTimeline reads a timeline in YAML from r; name is the file name
// used in error messages. The result is validated.
func ReadTimeline(r io.Reader, name string) (*Timeline, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read timeline %s: %w", name, err)
	}
	return ParseTimeline(data, name)
}

// ParseTimeline parses and validates a YAML timeline.
func ParseTimeline(data []byte, name string) (*Timeline, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &TimelineError{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	p := timelineParser{file: name}
	tl, err := p.document(&doc)
	if err != nil {
		return nil, err
	}
	if err := tl.validate(name); err != nil {
		return nil, err
	}
	return tl, nil
}

type timelineParser struct{ file string }

func (p *timelineParser) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &TimelineError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *timelineParser) document(doc *yaml.Node) (*Timeline, error) {
	tl := &Timeline{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &TimelineError{File: p.file, Msg: "empty timeline"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "timeline must be a mapping with distributions and changes")
	}
	seenChanges := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "distributions":
			if err := p.distributions(v, &tl.Distributions); err != nil {
				return nil, err
			}
		case "changes":
			seenChanges = true
			if v.Kind != yaml.SequenceNode {
				if v.Tag == "!!null" {
					continue
				}
				return nil, p.errf(v, "changes must be a list")
			}
			for _, c := range v.Content {
				ch, err := p.change(c)
				if err != nil {
					return nil, err
				}
				tl.Changes = append(tl.Changes, ch)
			}
		default:
			return nil, p.errf(k, "unknown key %q (want distributions, changes)", k.Value)
		}
	}
	if !seenChanges {
		return nil, p.errf(root, "no changes")
	}
	return tl, nil
}

func (p *timelineParser) distributions(n *yaml.Node, d *Distributions) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "distributions must be a mapping of role to distribution ID")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return p.errf(v, "distribution ID of %s must be a string", k.Value)
		}
		switch k.Value {
		case schema.RoleProduction:
			d.Production = v.Value
		case schema.RoleStaging:
			d.Staging = v.Value
		default:
			return p.errf(k, "unknown role %q (want production or staging)", k.Value)
		}
	}
	return nil
}

func (p *timelineParser) change(n *yaml.Node) (Change, error) {
	c := Change{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return c, p.errf(n, "a change must be a mapping with at, role and a setting")
	}
	var haveAt bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "at":
			t, err := p.time(v)
			if err != nil {
				return c, err
			}
			c.At, haveAt = t, true
		case "role":
			if v.Kind != yaml.ScalarNode {
				return c, p.errf(v, "role must be production or staging")
			}
			if v.Value != schema.RoleProduction && v.Value != schema.RoleStaging {
				return c, p.errf(v, "unknown role %q (want production or staging)", v.Value)
			}
			c.Role = v.Value
		case "custom_error_responses":
			b, err := p.bool(v, "custom_error_responses")
			if err != nil {
				return c, err
			}
			c.CustomErrorResponses = &b
		case "continuous_deployment":
			pc, err := p.policy(v)
			if err != nil {
				return c, err
			}
			c.ContinuousDeployment = pc
		case "note":
			c.Note = v.Value
		case "detected":
			b, err := p.bool(v, "detected")
			if err != nil {
				return c, err
			}
			c.Detected = b
		default:
			return c, p.errf(k, "unknown setting %q (want custom_error_responses or continuous_deployment)", k.Value)
		}
	}
	switch {
	case !haveAt:
		return c, p.errf(n, "change without at")
	case c.CustomErrorResponses == nil && c.ContinuousDeployment == nil && !c.Detected:
		return c, p.errf(n, "change without a setting (custom_error_responses or continuous_deployment)")
	case c.CustomErrorResponses != nil && c.Role == "":
		return c, p.errf(n, "custom_error_responses without role")
	case c.ContinuousDeployment != nil && c.Role == schema.RoleStaging && c.CustomErrorResponses == nil:
		return c, p.errf(n, "continuous_deployment belongs to the production distribution, not staging")
	}
	return c, nil
}

func (p *timelineParser) time(v *yaml.Node) (time.Time, error) {
	if v.Kind != yaml.ScalarNode {
		return time.Time{}, p.errf(v, "at must be an RFC 3339 time")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, v.Value); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, p.errf(v, "bad time %q (want RFC 3339, e.g. 2025-09-10T08:00:00Z)", v.Value)
}

func (p *timelineParser) bool(v *yaml.Node, what string) (bool, error) {
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true", "on", "yes":
			return true, nil
		case "false", "off", "no":
			return false, nil
		}
	}
	return false, p.errf(v, "%s must be true or false, not %q", what, v.Value)
}

func (p *timelineParser) policy(v *yaml.Node) (*PolicyChange, error) {
	pc := &PolicyChange{}
	if v.Kind == yaml.ScalarNode { // shorthand: continuous_deployment: false
		b, err := p.bool(v, "continuous_deployment")
		if err != nil {
			return nil, err
		}
		pc.Enabled = &b
		return pc, nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, p.errf(v, "continuous_deployment must be a mapping of enabled, type, weight, sticky")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, f := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "enabled":
			b, err := p.bool(f, "enabled")
			if err != nil {
				return nil, err
			}
			pc.Enabled = &b
		case "sticky":
			b, err := p.bool(f, "sticky")
			if err != nil {
				return nil, err
			}
			pc.Sticky = &b
		case "type":
			if f.Value != PolicyWeighted && f.Value != PolicyHeader {
				return nil, p.errf(f, "unknown policy type %q (want weighted or header)", f.Value)
			}
			s := f.Value
			pc.Type = &s
		case "weight":
			var w float64
			if err := f.Decode(&w); err != nil || f.Kind != yaml.ScalarNode {
				return nil, p.errf(f, "weight must be a number in [0, 1], not %q", f.Value)
			}
			if w < 0 || w > 1 || math.IsNaN(w) {
				return nil, p.errf(f, "weight %v out of [0, 1]", w)
			}
			pc.Weight = &w
		default:
			return nil, p.errf(k, "unknown continuous_deployment setting %q (want enabled, type, weight, sticky)", k.Value)
		}
	}
	if pc.Enabled == nil && pc.Type == nil && pc.Weight == nil && pc.Sticky == nil {
		return nil, p.errf(v, "continuous_deployment sets nothing")
	}
	return pc, nil
}

// Validate checks a timeline built in code: roles, weights and policy
// types, time order, and contradictory changes at one instant.
func (tl *Timeline) Validate() error { return tl.validate("timeline") }

func (tl *Timeline) validate(file string) error {
	errAt := func(c Change, format string, args ...any) error {
		return &TimelineError{File: file, Line: c.Line, Msg: fmt.Sprintf(format, args...)}
	}
	type settingKey struct {
		at      time.Time
		setting string
	}
	seen := map[settingKey]Change{}
	values := map[settingKey]string{}
	for i, c := range tl.Changes {
		if c.At.IsZero() {
			return errAt(c, "change without at")
		}
		if c.Role != "" && c.Role != schema.RoleProduction && c.Role != schema.RoleStaging {
			return errAt(c, "unknown role %q (want production or staging)", c.Role)
		}
		if c.CustomErrorResponses == nil && c.ContinuousDeployment == nil && !c.Detected {
			return errAt(c, "change without a setting")
		}
		if c.CustomErrorResponses != nil && c.Role == "" {
			return errAt(c, "custom_error_responses without role")
		}
		if i > 0 && c.At.Before(tl.Changes[i-1].At) {
			prev := tl.Changes[i-1]
			where := ""
			if prev.Line > 0 {
				where = fmt.Sprintf(" (line %d)", prev.Line)
			}
			return errAt(c, "changes out of order: %s is before the previous change at %s%s",
				c.At.UTC().Format(time.RFC3339), prev.At.UTC().Format(time.RFC3339), where)
		}
		check := func(setting, value string) error {
			k := settingKey{c.At, setting}
			if prev, ok := seen[k]; ok && values[k] != value {
				where := ""
				if prev.Line > 0 {
					where = fmt.Sprintf(" (line %d)", prev.Line)
				}
				return errAt(c, "overlapping changes at %s: %s set to %s here and to %s before%s",
					c.At.UTC().Format(time.RFC3339), setting, value, values[k], where)
			}
			seen[k], values[k] = c, value
			return nil
		}
		if c.CustomErrorResponses != nil {
			if err := check(c.Role+".custom_error_responses", fmt.Sprint(*c.CustomErrorResponses)); err != nil {
				return err
			}
		}
		if pc := c.ContinuousDeployment; pc != nil {
			if pc.Type != nil && *pc.Type != PolicyWeighted && *pc.Type != PolicyHeader {
				return errAt(c, "unknown policy type %q (want weighted or header)", *pc.Type)
			}
			if pc.Weight != nil && (*pc.Weight < 0 || *pc.Weight > 1 || math.IsNaN(*pc.Weight)) {
				return errAt(c, "weight %v out of [0, 1]", *pc.Weight)
			}
			if pc.Enabled != nil {
				if err := check("continuous_deployment.enabled", fmt.Sprint(*pc.Enabled)); err != nil {
					return err
				}
			}
			if pc.Type != nil {
				if err := check("continuous_deployment.type", *pc.Type); err != nil {
					return err
				}
			}
			if pc.Weight != nil {
				if err := check("continuous_deployment.weight", fmt.Sprint(*pc.Weight)); err != nil {
					return err
				}
			}
			if pc.Sticky != nil {
				if err := check("continuous_deployment.sticky", fmt.Sprint(*pc.Sticky)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Sort orders the changes by time, keeping the order of changes at the
// same instant.
func (tl *Timeline) Sort() {
	sort.SliceStable(tl.Changes, func(i, j int) bool { return tl.Changes[i].At.Before(tl.Changes[j].At) })
}

type yamlTimeline struct {
	Distributions *yamlDistributions `yaml:"distributions,omitempty"`
	Changes       []yamlChange       `yaml:"changes"`
}

type yamlDistributions struct {
	Production string `yaml:"production,omitempty"`
	Staging    string `yaml:"staging,omitempty"`
}

type yamlChange struct {
	At                   string      `yaml:"at"`
	Role                 string      `yaml:"role,omitempty"`
	CustomErrorResponses *bool       `yaml:"custom_error_responses,omitempty"`
	ContinuousDeployment *yamlPolicy `yaml:"continuous_deployment,omitempty,flow"`
	Note                 string      `yaml:"note,omitempty"`
	Detected             bool        `yaml:"detected,omitempty"`
}

type yamlPolicy struct {
	Enabled *bool    `yaml:"enabled,omitempty"`
	Type    *string  `yaml:"type,omitempty"`
	Weight  *float64 `yaml:"weight,omitempty"`
	Sticky  *bool    `yaml:"sticky,omitempty"`
}

// WriteYAML writes the timeline in the format ReadTimeline reads.
func (tl *Timeline) WriteYAML(w io.Writer) error {
	y := yamlTimeline{Changes: make([]yamlChange, 0, len(tl.Changes))}
	if tl.Distributions != (Distributions{}) {
		y.Distributions = &yamlDistributions{Production: tl.Distributions.Production, Staging: tl.Distributions.Staging}
	}
	for _, c := range tl.Changes {
		yc := yamlChange{
			At:                   c.At.UTC().Format(time.RFC3339Nano),
			Role:                 c.Role,
			CustomErrorResponses: c.CustomErrorResponses,
			Note:                 c.Note,
			Detected:             c.Detected,
		}
		if pc := c.ContinuousDeployment; pc != nil {
			yc.ContinuousDeployment = &yamlPolicy{Enabled: pc.Enabled, Type: pc.Type, Weight: pc.Weight, Sticky: pc.Sticky}
		}
		y.Changes = append(y.Changes, yc)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&y); err != nil {
		return fmt.Errorf("encode timeline: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode timeline: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write timeline: %w", err)
	}
	return nil
}

// errNoWindows is returned when the range is empty.
var errNoWindows = errors.New("empty time range")

// Windows cuts [from, to) into the maximal intervals of constant state
// given by the timeline (sorted by time). A zero from or to leaves that
// side unbounded (the window's From or To is then zero). Changes at or
// before from make the initial state; settings never changed before a
// window are unknown (nil) in its state. Settle is the margin after each
// change whose requests are left out: SettleUntil of a window is the end
// of the margin of the last change at or before its start (From when
// none reaches into it).
func Windows(tl *Timeline, from, to time.Time, settle time.Duration) ([]Window, error) {
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, fmt.Errorf("windows from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), errNoWindows)
	}
	changes := append([]Change(nil), tl.Changes...)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].At.Before(changes[j].At) })

	var (
		st         State
		lastChange time.Time // last change instant applied
		i          int
	)
	// Changes at or before from set the initial state.
	for ; i < len(changes) && !from.IsZero() && !changes[i].At.After(from); i++ {
		st = st.apply(changes[i])
		lastChange = changes[i].At
	}
	settleUntil := func(start time.Time) time.Time {
		if settle > 0 && !lastChange.IsZero() && lastChange.Add(settle).After(start) {
			return lastChange.Add(settle).UTC()
		}
		return start
	}
	cur := Window{From: from.UTC(), State: st}
	if from.IsZero() {
		cur.From = time.Time{}
	}
	cur.SettleUntil = settleUntil(cur.From)
	var ws []Window
	for i < len(changes) {
		at := changes[i].At
		if !to.IsZero() && !at.Before(to) {
			break
		}
		next := st
		detected := false
		for ; i < len(changes) && changes[i].At.Equal(at); i++ {
			next = next.apply(changes[i])
			detected = detected || changes[i].Detected
		}
		lastChange = at
		if next.Equal(st) && !detected {
			continue // a change to the same values does not cut a window
		}
		cur.To = at.UTC()
		ws = append(ws, cur)
		st = next
		cur = Window{From: at.UTC(), State: st, Detected: detected}
		cur.SettleUntil = settleUntil(cur.From)
	}
	if !to.IsZero() {
		cur.To = to.UTC()
	}
	ws = append(ws, cur)
	for k := range ws {
		ws[k].ID = k + 1
		ws[k].Label = ws[k].State.Label()
		if ws[k].Detected {
			ws[k].Label = detectedLabel + ws[k].Label
		}
	}
	return ws, nil
}

func (s State) apply(c Change) State {
	if c.CustomErrorResponses != nil {
		v := *c.CustomErrorResponses
		switch c.Role {
		case schema.RoleProduction:
			s.Production.CustomErrorResponses = &v
		case schema.RoleStaging:
			s.Staging.CustomErrorResponses = &v
		}
	}
	if pc := c.ContinuousDeployment; pc != nil {
		p := s.ContinuousDeployment
		if pc.Enabled != nil {
			v := *pc.Enabled
			p.Enabled = &v
		}
		if pc.Type != nil {
			v := *pc.Type
			p.Type = &v
		}
		if pc.Weight != nil {
			v := *pc.Weight
			p.Weight = &v
		}
		if pc.Sticky != nil {
			v := *pc.Sticky
			p.Sticky = &v
		}
		s.ContinuousDeployment = p
	}
	return s
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// Equal reports whether two states are the same, unknowns included.
func (s State) Equal(o State) bool {
	return eqPtr(s.Production.CustomErrorResponses, o.Production.CustomErrorResponses) &&
		eqPtr(s.Staging.CustomErrorResponses, o.Staging.CustomErrorResponses) &&
		eqPtr(s.ContinuousDeployment.Enabled, o.ContinuousDeployment.Enabled) &&
		eqPtr(s.ContinuousDeployment.Type, o.ContinuousDeployment.Type) &&
		eqPtr(s.ContinuousDeployment.Weight, o.ContinuousDeployment.Weight) &&
		eqPtr(s.ContinuousDeployment.Sticky, o.ContinuousDeployment.Sticky)
}

// CustomErrors returns the custom error responses state of a role.
func (s State) CustomErrors(role string) *bool {
	if role == schema.RoleStaging {
		return s.Staging.CustomErrorResponses
	}
	return s.Production.CustomErrorResponses
}

// PolicyWeight returns the staging weight when the policy is known to be
// enabled and weighted, and whether it is.
func (s State) PolicyWeight() (float64, bool) {
	p := s.ContinuousDeployment
	if p.Enabled == nil || !*p.Enabled || p.Weight == nil {
		return 0, false
	}
	if p.Type != nil && *p.Type != PolicyWeighted {
		return 0, false
	}
	return *p.Weight, true
}

// OnOff names a switch that may be unknown: "on", "off" or "?".
func OnOff(b *bool) string {
	switch {
	case b == nil:
		return "?"
	case *b:
		return "on"
	default:
		return "off"
	}
}

// Label describes the state in a few words, e.g.
// "custom errors prod on, staging off; policy weighted 15%".
func (s State) Label() string {
	var b strings.Builder
	fmt.Fprintf(&b, "custom errors prod %s, staging %s; policy ", OnOff(s.Production.CustomErrorResponses), OnOff(s.Staging.CustomErrorResponses))
	p := s.ContinuousDeployment
	switch {
	case p.Enabled == nil:
		b.WriteString("?")
	case !*p.Enabled:
		b.WriteString("off")
	default:
		if p.Type != nil {
			b.WriteString(*p.Type)
		} else {
			b.WriteString("on")
		}
		if p.Weight != nil && (p.Type == nil || *p.Type == PolicyWeighted) {
			fmt.Fprintf(&b, " %s", formatPercent(*p.Weight))
		}
		if p.Sticky != nil && *p.Sticky {
			b.WriteString(" sticky")
		}
	}
	return b.String()
}

func formatPercent(f float64) string {
	s := fmt.Sprintf("%.2f", 100*f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}
