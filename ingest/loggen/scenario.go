package loggen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cflens/cflens/ingest/schema"
)

// Roles holds one value per distribution role.
type Roles[T any] struct {
	Production T
	Staging    T
}

// Of returns the value for role (schema.RoleProduction or
// schema.RoleStaging); any other role gives the production value.
func (r Roles[T]) Of(role string) T {
	if role == schema.RoleStaging {
		return r.Staging
	}
	return r.Production
}

// roleName names role index i: 0 production, 1 staging, the order used
// throughout the package.
func roleName(i int) string {
	if i == 1 {
		return schema.RoleStaging
	}
	return schema.RoleProduction
}

func (r Roles[T]) at(i int) T {
	if i == 1 {
		return r.Staging
	}
	return r.Production
}

// Distribution is one CloudFront distribution of a scenario.
type Distribution struct {
	// ID is the distribution ID, e.g. E2QWRUHEXAMPLE. It names the log
	// files and is the only thing that tells staging from production.
	ID string
	// Domain is the distribution's own domain name, logged as cs(Host).
	Domain string
}

// Window is a stretch of constant configuration. It starts at Start and
// runs to the next window's start, or to the end of the scenario.
type Window struct {
	Start time.Time
	// CustomErrors tells whether custom error responses are on.
	CustomErrors Roles[bool]
	// P500 is the chosen probability that a request for an error path
	// gets HTTP 500 instead of the error response, outside peak hours.
	P500 Roles[float64]
	// Weight, when set, is the continuous-deployment weight in this
	// window instead of the scenario's (a re-weighted policy; 0 is the
	// policy disabled).
	Weight *float64
}

// WeightAt returns the continuous-deployment weight of window i.
func (s *Scenario) WeightAt(i int) float64 {
	if w := s.Windows[i].Weight; w != nil {
		return *w
	}
	return s.Weight
}

// Interval is the half-open time interval [Start, End).
type Interval struct {
	Start, End time.Time
}

// Contains reports whether t lies in the interval.
func (iv Interval) Contains(t time.Time) bool {
	return !t.Before(iv.Start) && t.Before(iv.End)
}

// Path is a URI stem that viewers request.
type Path struct {
	Path   string // as logged (percent-encoded)
	Weight float64
	// ContentType and Bytes describe the object served for a good path
	// (a path that exists at the origin); error paths ignore them.
	ContentType string
	Bytes       int64
	// Range marks objects fetched with Range requests (HTTP 206).
	Range bool
}

// Weighted is a value drawn with a relative weight.
type Weighted struct {
	Value  string
	Weight float64
}

// Scenario describes the traffic to generate. DefaultScenario gives the
// motivating case; every field can be changed before generating.
type Scenario struct {
	// Seed makes the output deterministic: the same scenario and seed give
	// the same bytes.
	Seed uint64
	// Start is the first hour (UTC, on the hour); Hours the duration.
	Start time.Time
	Hours int
	// Distributions are the production distribution and its staging
	// distribution.
	Distributions Roles[Distribution]
	// HostHeader is the viewer's Host header (x-host-header), the same
	// for both distributions.
	HostHeader string
	// RequestsPerHour is the mean number of requests per hour (both
	// distributions together); Profile scales it by hour of day (UTC),
	// relative to the profile's mean.
	RequestsPerHour float64
	Profile         [24]float64
	// Weight is the continuous-deployment weight: the share of requests
	// that CloudFront sends to staging outside peak hours.
	Weight float64
	// Sticky is the policy's session stickiness as the timeline states
	// it; the generator draws every request on its own either way.
	Sticky bool
	// Windows are the configuration windows, in time order; the first
	// starts at Start.
	Windows []Window
	// Peaks are the stretches (on whole hours) in which CloudFront sends
	// all traffic to production whatever the policy says.
	Peaks []Interval
	// PeakP500 is the probability of HTTP 500 on error paths of
	// production during peaks (none in the motivating case).
	PeakP500 float64
	// GoodPaths exist at the origin; ErrorPaths do not (the origin answers
	// 404). ErrorShare is the share of requests for error paths.
	GoodPaths  []Path
	ErrorPaths []Path
	ErrorShare float64
	// GoodResults is the x-edge-result-type mix of good paths requested
	// over HTTPS (Hit, RefreshHit, Miss); plain HTTP requests are
	// redirected (Redirect, 301).
	GoodResults []Weighted
	// FailureDetails is the x-edge-detailed-result-type mix of the 500s.
	FailureDetails []Weighted
	// ErrorPageStatus is the response code configured in the custom error
	// response (404 or 200 with the error page).
	ErrorPageStatus int
	// ClientAbortRate is the share of good-path requests whose viewer
	// hangs up before the response (sc-status 000, ClientCommError).
	ClientAbortRate float64
	// QuirkRate is the share of records carrying one oddity of real
	// files: a trailing TAB (legacy only), a user agent percent-encoded
	// twice (%2520), or x-forwarded-for logged as "unknown" or ip:port.
	QuirkRate float64
	// FilesPerHour is the most files one distribution writes per hour;
	// each hour gets between 1 and FilesPerHour files.
	FilesPerHour int
}

// Default scenario figures, the motivating case: weighted continuous
// deployment sending 15% to staging, and the rate of HTTP 500 on error
// paths seen for each custom-error-response combination.
const (
	DefaultWeight = 0.15
	// Custom error responses on both distributions.
	BothOnP500Production = 0.15
	BothOnP500Staging    = 0.83
	// On production only: staging (without them) fails; production does
	// not.
	ProductionOnlyP500Production = 0.0
	ProductionOnlyP500Staging    = 0.47
	// On staging only: production (without them) fails; staging does not.
	StagingOnlyP500Production = 0.13
	StagingOnlyP500Staging    = 0.0
	// Off on both: no 500s.
	BothOffP500 = 0.0
	// DefaultRequestsPerHour is the mean hourly volume at scale 1.
	DefaultRequestsPerHour = 2000
	// DefaultErrorShare is the share of requests for error paths.
	DefaultErrorShare = 0.08
)

// DefaultStart is the first hour of DefaultScenario.
func DefaultStart() time.Time { return time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC) }

// DefaultScenario reproduces the motivating case over five days from
// 2025-09-10 00:00 UTC, with about scale × 2000 requests per hour:
//
//	day 1        custom errors off on both         500s: production 0%,  staging 0%
//	day 2        on production only               500s: production 0%,  staging 47%
//	day 3        on staging only                  500s: production 13%, staging 0%
//	days 4 and 5 on both                          500s: production 15%, staging 83%
//
// Continuous deployment is weighted (15% to staging, not sticky)
// throughout. Every day 18:00–21:00 UTC, the top of the diurnal profile, is
// a peak: staging gets no traffic and production no 500s. 8% of requests
// are for error paths; good paths never fail. One record in 200 carries an
// oddity of real files (see QuirkRate).
func DefaultScenario(scale float64) *Scenario {
	day := 24 * time.Hour
	defaultStart := DefaultStart()
	s := &Scenario{
		Seed:  1,
		Start: defaultStart,
		Hours: 5 * 24,
		Distributions: Roles[Distribution]{
			Production: Distribution{ID: "E2QWRUHEXAMPLE", Domain: "d111111abcdef8.cloudfront.net"},
			Staging:    Distribution{ID: "E3STGX7EXAMPLE", Domain: "d222222abcdef8.cloudfront.net"},
		},
		HostHeader:      "www.example.com",
		RequestsPerHour: DefaultRequestsPerHour * scale,
		// Quiet nights, a morning rise, the busiest hours 18–21 UTC.
		Profile: [24]float64{
			0.45, 0.35, 0.30, 0.25, 0.25, 0.30, 0.45, 0.70,
			0.90, 1.00, 1.05, 1.10, 1.15, 1.10, 1.05, 1.10,
			1.25, 1.50, 1.95, 2.10, 2.00, 1.40, 0.90, 0.60,
		},
		Weight: DefaultWeight,
		Windows: []Window{
			{Start: defaultStart,
				P500: Roles[float64]{Production: BothOffP500, Staging: BothOffP500}},
			{Start: defaultStart.Add(day), CustomErrors: Roles[bool]{Production: true},
				P500: Roles[float64]{Production: ProductionOnlyP500Production, Staging: ProductionOnlyP500Staging}},
			{Start: defaultStart.Add(2 * day), CustomErrors: Roles[bool]{Staging: true},
				P500: Roles[float64]{Production: StagingOnlyP500Production, Staging: StagingOnlyP500Staging}},
			{Start: defaultStart.Add(3 * day), CustomErrors: Roles[bool]{Production: true, Staging: true},
				P500: Roles[float64]{Production: BothOnP500Production, Staging: BothOnP500Staging}},
		},
		PeakP500:   0,
		GoodPaths:  defaultGoodPaths(),
		ErrorPaths: defaultErrorPaths(),
		ErrorShare: DefaultErrorShare,
		GoodResults: []Weighted{
			{"Hit", 0.72}, {"RefreshHit", 0.04}, {"Miss", 0.24},
		},
		// CloudFront does not document which detail a failed custom error
		// response carries; these are the origin-side failures it logs
		// with sc-status 5xx.
		FailureDetails: []Weighted{
			{"OriginCommError", 0.6}, {"OriginConnectError", 0.25}, {"Error", 0.15},
		},
		ErrorPageStatus: 404,
		ClientAbortRate: 0.001,
		QuirkRate:       0.005,
		FilesPerHour:    3,
	}
	for d := range 5 {
		from := defaultStart.Add(time.Duration(d)*day + 18*time.Hour)
		s.Peaks = append(s.Peaks, Interval{Start: from, End: from.Add(3 * time.Hour)})
	}
	return s
}

func defaultGoodPaths() []Path {
	return []Path{
		{Path: "/", Weight: 0.18, ContentType: "text/html", Bytes: 18432},
		{Path: "/index.html", Weight: 0.04, ContentType: "text/html", Bytes: 18432},
		{Path: "/products/", Weight: 0.08, ContentType: "text/html", Bytes: 24310},
		{Path: "/products/blue-widget", Weight: 0.06, ContentType: "text/html", Bytes: 21877},
		{Path: "/about", Weight: 0.03, ContentType: "text/html", Bytes: 9821},
		{Path: "/assets/app.3f9c2b.js", Weight: 0.15, ContentType: "application/javascript", Bytes: 182344},
		{Path: "/assets/styles.8a1d4e.css", Weight: 0.12, ContentType: "text/css", Bytes: 40112},
		{Path: "/images/hero.webp", Weight: 0.12, ContentType: "image/webp", Bytes: 91233},
		{Path: "/images/logo.svg", Weight: 0.08, ContentType: "image/svg+xml", Bytes: 4211},
		{Path: "/favicon.ico", Weight: 0.05, ContentType: "image/x-icon", Bytes: 15086},
		{Path: "/api/config.json", Weight: 0.05, ContentType: "application/json", Bytes: 812},
		{Path: "/media/intro.mp4", Weight: 0.04, ContentType: "video/mp4", Bytes: 18874368, Range: true},
	}
}

func defaultErrorPaths() []Path {
	return []Path{
		{Path: "/products/discontinued-widget", Weight: 0.30},
		{Path: "/blog/2019/old-announcement", Weight: 0.20},
		{Path: "/old-page.html", Weight: 0.15},
		{Path: "/images/missing-banner.jpg", Weight: 0.10},
		{Path: "/products/Blue%20Widget", Weight: 0.10},
		{Path: "/wp-login.php", Weight: 0.10},
		{Path: "/.env", Weight: 0.05},
	}
}

// End returns the end of the scenario.
func (s *Scenario) End() time.Time { return s.Start.Add(time.Duration(s.Hours) * time.Hour) }

// WindowEnd returns the end of window i.
func (s *Scenario) WindowEnd(i int) time.Time {
	if i+1 < len(s.Windows) {
		return s.Windows[i+1].Start
	}
	return s.End()
}

// windowAt returns the index of the window holding t.
func (s *Scenario) windowAt(t time.Time) int {
	w := 0
	for i := range s.Windows {
		if !t.Before(s.Windows[i].Start) {
			w = i
		}
	}
	return w
}

// IsPeak reports whether the hour starting at t lies in a peak.
func (s *Scenario) IsPeak(t time.Time) bool {
	for _, p := range s.Peaks {
		if p.Contains(t) {
			return true
		}
	}
	return false
}

// Validate checks that the scenario can be generated.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	onHour := func(t time.Time) bool { return t.Location() == time.UTC && t.Equal(t.Truncate(time.Hour)) }
	if !onHour(s.Start) {
		bad("start %s is not a UTC hour", s.Start)
	}
	if s.Hours <= 0 {
		bad("hours %d not positive", s.Hours)
	}
	for i, d := range []Distribution{s.Distributions.Production, s.Distributions.Staging} {
		if !schema.IsDistributionID(d.ID) {
			bad("%s distribution id %q is not like E2QWRUHEXAMPLE", roleName(i), d.ID)
		}
		if d.Domain == "" || strings.ContainsAny(d.Domain, " \t\n") {
			bad("%s distribution domain %q invalid", roleName(i), d.Domain)
		}
	}
	if s.Distributions.Production.ID == s.Distributions.Staging.ID {
		bad("production and staging share the id %s", s.Distributions.Production.ID)
	}
	if s.RequestsPerHour < 0 {
		bad("requests per hour %g negative", s.RequestsPerHour)
	}
	if profileMean(s.Profile) <= 0 {
		bad("hourly profile has no positive value")
	}
	for h, v := range s.Profile {
		if v < 0 {
			bad("hourly profile %d is negative", h)
		}
	}
	checkP := func(name string, p float64) {
		if !(p >= 0 && p <= 1) {
			bad("%s %g outside [0, 1]", name, p)
		}
	}
	checkP("weight", s.Weight)
	checkP("error share", s.ErrorShare)
	checkP("client abort rate", s.ClientAbortRate)
	checkP("quirk rate", s.QuirkRate)
	checkP("peak p500", s.PeakP500)
	if len(s.Windows) == 0 {
		bad("no windows")
	} else if !s.Windows[0].Start.Equal(s.Start) {
		bad("first window starts at %s, not at the start %s", s.Windows[0].Start, s.Start)
	}
	for i, w := range s.Windows {
		if i > 0 && !w.Start.After(s.Windows[i-1].Start) {
			bad("window %d does not start after window %d", i, i-1)
		}
		if !w.Start.Before(s.End()) {
			bad("window %d starts after the end", i)
		}
		checkP(fmt.Sprintf("window %d production p500", i), w.P500.Production)
		checkP(fmt.Sprintf("window %d staging p500", i), w.P500.Staging)
		if w.Weight != nil {
			checkP(fmt.Sprintf("window %d weight", i), *w.Weight)
		}
	}
	for i, p := range s.Peaks {
		if !onHour(p.Start) || !onHour(p.End) || !p.End.After(p.Start) {
			bad("peak %d is not a stretch of whole UTC hours", i)
		}
	}
	checkPaths := func(name string, ps []Path) {
		if len(ps) == 0 {
			bad("no %s paths", name)
		}
		for _, p := range ps {
			if !strings.HasPrefix(p.Path, "/") || strings.ContainsAny(p.Path, " \t\n") || !(p.Weight > 0) {
				bad("%s path %q invalid (absolute, no blanks, positive weight)", name, p.Path)
			}
		}
	}
	checkPaths("good", s.GoodPaths)
	checkPaths("error", s.ErrorPaths)
	checkWeighted := func(name string, ws []Weighted) {
		if len(ws) == 0 {
			bad("no %s", name)
		}
		for _, w := range ws {
			if w.Value == "" || strings.ContainsAny(w.Value, " \t\n") || !(w.Weight > 0) {
				bad("%s value %q invalid", name, w.Value)
			}
		}
	}
	checkWeighted("good results", s.GoodResults)
	checkWeighted("failure details", s.FailureDetails)
	if s.ErrorPageStatus < 100 || s.ErrorPageStatus > 599 {
		bad("error page status %d invalid", s.ErrorPageStatus)
	}
	if s.FilesPerHour < 1 {
		bad("files per hour %d below 1", s.FilesPerHour)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid scenario: %w", err)
	}
	return nil
}

func profileMean(p [24]float64) float64 {
	var sum float64
	for _, v := range p {
		sum += v
	}
	return sum / 24
}

// TimelineYAML returns the scenario's configuration timeline in the
// analyzer's format: the state of both distributions and the
// continuous-deployment policy at the start, then each custom-error change
// at its window's start. Peaks are not configuration and do not appear.
func (s *Scenario) TimelineYAML() []byte {
	var b strings.Builder
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(&b, "distributions: {production: %s, staging: %s}\n",
		s.Distributions.Production.ID, s.Distributions.Staging.ID)
	b.WriteString("changes:\n")
	var prev Roles[bool]
	for i, w := range s.Windows {
		for r := range 2 {
			role := roleName(r)
			on := w.CustomErrors.at(r)
			if i > 0 && on == prev.at(r) {
				continue
			}
			fmt.Fprintf(&b, "  - at: %s\n    role: %s\n    custom_error_responses: %t\n", at(w.Start), role, on)
		}
		if i == 0 {
			fmt.Fprintf(&b, "  - at: %s\n    continuous_deployment: {enabled: true, type: weighted, weight: %s, sticky: %t}\n",
				at(w.Start), strconv.FormatFloat(s.WeightAt(0), 'f', -1, 64), s.Sticky)
		} else if wt := s.WeightAt(i); wt != s.WeightAt(i-1) {
			fmt.Fprintf(&b, "  - at: %s\n    continuous_deployment: {weight: %s}\n", at(w.Start), strconv.FormatFloat(wt, 'f', -1, 64))
		}
		prev = w.CustomErrors
	}
	return []byte(b.String())
}
