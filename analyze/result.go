package analyze

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
)

// SchemaVersion names the JSON contract of Result. Fields may be added
// under the same version; none are renamed or removed.
const SchemaVersion = "cflens.analysis/v1"

// Result is the outcome of one analysis. It is the stable JSON contract
// "cflens.analysis/v1" (documented in the README) and what the report
// renderers take. Times are UTC; slices come in a fixed order (windows by
// time, cells by window then role, hours by role then hour), and maps are
// keyed by strings so that encoding/json writes them sorted.
type Result struct {
	Schema string `json:"schema"`
	// Range is the analysed time range [from, to): the one requested, or
	// the span of the rows seen where no bound was given.
	Range    Range  `json:"range"`
	Timezone string `json:"timezone"`
	// SettleSeconds is the margin after each change whose requests were
	// left out.
	SettleSeconds float64 `json:"settle_seconds"`
	// BucketSeconds is the width of the time series buckets.
	BucketSeconds float64       `json:"bucket_seconds"`
	Distributions Distributions `json:"distributions"`
	// Matrix is the 500 share of error-path requests per configuration
	// of custom error responses and role: the answer the rest of the
	// analysis details.
	Matrix Matrix `json:"matrix"`
	Input  Input  `json:"input"`
	// ErrorPathRule says how error paths were chosen: "auto" (never a
	// 2xx or 3xx response in the range) or "regex:<expr>".
	ErrorPathRule string     `json:"error_path_rule"`
	ErrorPaths    ErrorPaths `json:"error_paths"`
	Windows       []Window   `json:"windows"`
	Cells         []Cell     `json:"cells"`
	Hours         []Hour     `json:"hours"`
	Weekdays      []Weekday  `json:"weekdays"`
	PeakHours     PeakHours  `json:"peak_hours"`
	Series        Series     `json:"series"`
	Tests         []Test     `json:"tests"`
	Findings      []Finding  `json:"findings"`
	Warnings      []string   `json:"warnings"`
	// WindowsSource says where the windows came from: "timeline" (a
	// file), "cloudtrail", or "detected" (found in the logs themselves,
	// their states unknown); empty when not told.
	WindowsSource string `json:"windows_source,omitempty"`
	// CompareDetected sets the recorded changes (the window boundaries)
	// beside the changes detected in the logs; present only when asked
	// for (analyze --compare-detected).
	CompareDetected *DetectedComparison `json:"compare_detected,omitempty"`
	// Engine describes the remote engine that counted the tallies; it is
	// absent when the local engine did.
	Engine *Engine `json:"engine,omitempty"`
}

// Engine is what a remote engine (Athena) ran for the analysis, and
// what it cost.
type Engine struct {
	Name    string        `json:"name"`
	Queries []EngineQuery `json:"queries"`
	// ScannedBytes, EngineMillis and CostUSD add up the queries'.
	ScannedBytes int64   `json:"scanned_bytes"`
	EngineMillis int64   `json:"engine_millis"`
	CostUSD      float64 `json:"cost_usd"`
}

// EngineQuery is one query of a remote engine.
type EngineQuery struct {
	Name         string  `json:"name"`
	ExecutionID  string  `json:"execution_id"`
	ScannedBytes int64   `json:"scanned_bytes"`
	EngineMillis int64   `json:"engine_millis"`
	CostUSD      float64 `json:"cost_usd"`
}

// Range is a half-open time interval [From, To).
type Range struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Distributions names the distribution IDs of the two roles (empty when
// unknown).
type Distributions struct {
	Production string `json:"production"`
	Staging    string `json:"staging"`
}

// Input counts what the analysis read.
type Input struct {
	Objects int64 `json:"objects"`
	// Rows is the number of rows the analyzer received.
	Rows int64 `json:"rows"`
	// RejectedLines are lines the parser could not read (from the ingest
	// summary; zero when reading a dataset).
	RejectedLines int64 `json:"rejected_lines"`
	// Analyzed rows fell in the range, in a window, outside any settle
	// margin, and had a known role.
	Analyzed int64 `json:"analyzed"`
	// OutOfRange rows had a timestamp outside the range (or none).
	OutOfRange int64 `json:"out_of_range"`
	// Settling rows fell in a settle margin after a change.
	Settling int64 `json:"settling"`
	// UnknownRole rows came from a distribution that is neither the
	// production nor the staging one.
	UnknownRole int64 `json:"unknown_role"`
	// AbortedObjects were begun and then discarded (their rows are not
	// counted anywhere).
	AbortedObjects int64 `json:"aborted_objects"`
}

// ErrorPaths describes the path classification.
type ErrorPaths struct {
	// Stems is the number of distinct cs-uri-stem values seen; Error of
	// them are error paths.
	Stems int64 `json:"stems"`
	Error int64 `json:"error"`
	// Requests and Status500 count the requests to error paths and their
	// 500 responses.
	Requests  int64 `json:"requests"`
	Status500 int64 `json:"status_500"`
	// Top lists the error paths with the most requests (at most 20).
	Top []PathCount `json:"top"`
	// TopGood500 lists the good paths that got 500s, most first.
	TopGood500 []PathCount `json:"top_good_500"`
	// OverflowRows is always 0: every row is in a path class, whatever
	// the number of distinct stems (kept for the contract's readers).
	OverflowRows int64 `json:"overflow_rows"`
}

// PathCount is one path with its request and 500 counts.
type PathCount struct {
	Stem      string `json:"stem"`
	Requests  int64  `json:"requests"`
	Status500 int64  `json:"status_500"`
}

// Window is a maximal interval of constant configuration state.
type Window struct {
	ID   int       `json:"id"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// SettleUntil is the end of the settle margin at the window's start
	// (equal to From when none applies).
	SettleUntil time.Time `json:"settle_until"`
	State       State     `json:"state"`
	// Label is a short human description of the state.
	Label string `json:"label"`
	// Detected marks a window whose bounds were found in the logs
	// rather than recorded (its state is then unknown unless a recorded
	// change set it).
	Detected bool `json:"detected,omitempty"`
}

// State is the configuration of both distributions in a window. Nil
// pointers are unknown (no change of that setting before the window) and
// encode as null.
type State struct {
	Production           DistributionState `json:"production"`
	Staging              DistributionState `json:"staging"`
	ContinuousDeployment PolicyState       `json:"continuous_deployment"`
}

// DistributionState is the state of one distribution.
type DistributionState struct {
	CustomErrorResponses *bool `json:"custom_error_responses"`
}

// PolicyState is the state of the continuous deployment policy.
type PolicyState struct {
	Enabled *bool    `json:"enabled"`
	Type    *string  `json:"type"`
	Weight  *float64 `json:"weight"`
	Sticky  *bool    `json:"sticky"`
}

// Cell aggregates one window × role.
type Cell struct {
	Window int    `json:"window"`
	Role   string `json:"role"`
	// Requests counts all analysed requests; Status counts them by
	// sc-status ("000" for closed connections, "null" when missing).
	Requests  int64            `json:"requests"`
	Status    map[string]int64 `json:"status"`
	Status500 int64            `json:"status_500"`
	Status5xx int64            `json:"status_5xx"`

	ErrorPathRequests int64 `json:"error_path_requests"`
	ErrorPath4xx      int64 `json:"error_path_4xx"`
	ErrorPath500      int64 `json:"error_path_500"`
	ErrorPath5xx      int64 `json:"error_path_5xx"`
	// GoodPath500 counts 500s on good paths, apart.
	GoodPathRequests int64 `json:"good_path_requests"`
	GoodPath500      int64 `json:"good_path_500"`

	// Rate500 is the share of 500 among error-path requests, with its 95%
	// Wilson interval (both null in JSON when there are none); Rate5xx
	// likewise.
	Rate500     float64    `json:"rate_500"`
	Rate500CI95 [2]float64 `json:"rate_500_ci95"`
	Rate5xx     float64    `json:"rate_5xx"`
	Rate5xxCI95 [2]float64 `json:"rate_5xx_ci95"`
	// The same among all requests of the cell.
	Rate500All     float64    `json:"rate_500_all"`
	Rate500AllCI95 [2]float64 `json:"rate_500_all_ci95"`
	Rate5xxAll     float64    `json:"rate_5xx_all"`
	Rate5xxAllCI95 [2]float64 `json:"rate_5xx_all_ci95"`

	// Breakdowns of the cell's 500s ("-" for missing values).
	ResultTypes500         map[string]int64 `json:"result_types_500"`
	ResponseResultTypes500 map[string]int64 `json:"response_result_types_500"`
	DetailedResultTypes500 map[string]int64 `json:"detailed_result_types_500"`

	// Rows whose x-edge-result-type is Error, by what the viewer got:
	// HiddenErrors got a 2xx with Error as x-edge-response-result-type
	// too (a custom error response that turned a failure into a
	// success status), ClientDisconnects had another response result
	// type (the viewer hung up), Unknown2xx got a 2xx with no response
	// result type to tell the two apart.
	HiddenErrors      int64 `json:"hidden_errors"`
	ClientDisconnects int64 `json:"client_disconnects"`
	Unknown2xx        int64 `json:"error_2xx_unknown"`
}

// Hour aggregates one role × hour of day (in the result's time zone).
type Hour struct {
	Role              string `json:"role"`
	Hour              int    `json:"hour"`
	Requests          int64  `json:"requests"`
	ErrorPathRequests int64  `json:"error_path_requests"`
	Status500         int64  `json:"status_500"`
	ErrorPath500      int64  `json:"error_path_500"`
	// StagingShare is the staging part of both roles' requests in this
	// hour of day while the policy was enabled (over all rows when no
	// window is known to have it enabled; a warning says so).
	StagingShare float64 `json:"staging_share"`
	// Rate500 is the share of 500 among error-path requests (null in
	// JSON, with its interval, when there are none).
	Rate500     float64    `json:"rate_500"`
	Rate500CI95 [2]float64 `json:"rate_500_ci95"`
	// PeakHours counts the distinct clock hours with this hour of day
	// that were detected as peak hours.
	PeakHours int `json:"peak_hours"`
}

// Weekday aggregates one role × day of week (0 = Sunday).
type Weekday struct {
	Role              string     `json:"role"`
	Day               int        `json:"day"`
	Name              string     `json:"name"`
	Requests          int64      `json:"requests"`
	ErrorPathRequests int64      `json:"error_path_requests"`
	Status500         int64      `json:"status_500"`
	ErrorPath500      int64      `json:"error_path_500"`
	StagingShare      float64    `json:"staging_share"`
	Rate500           float64    `json:"rate_500"`
	Rate500CI95       [2]float64 `json:"rate_500_ci95"`
}

// PeakHours lists the clock hours in which the continuous deployment
// policy was enabled with a positive weight but staging got (almost) no
// traffic, as CloudFront does in its peak hours, and compares the 500
// rate on error paths inside and outside them (policy enabled only).
type PeakHours struct {
	// Rule states the detection rule in words.
	Rule    string      `json:"rule"`
	Hours   []PeakHour  `json:"hours"`
	Inside  []RateGroup `json:"inside"`
	Outside []RateGroup `json:"outside"`
	// ByWindow splits the same per window of an enabled weighted policy,
	// role, and inside (peak) or outside peak hours.
	ByWindow []WindowRateGroup `json:"by_window"`
}

// WindowRateGroup is a RateGroup of one window, inside or outside peak
// hours.
type WindowRateGroup struct {
	Window int  `json:"window"`
	Peak   bool `json:"peak"`
	RateGroup
}

// PeakHour is one detected clock hour.
type PeakHour struct {
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	Window        int       `json:"window"`
	Requests      int64     `json:"requests"`
	Staging       int64     `json:"staging_requests"`
	StagingShare  float64   `json:"staging_share"`
	ExpectedShare float64   `json:"expected_share"`
}

// RateGroup is the 500 rate among the error-path requests of one role in
// a group of requests.
type RateGroup struct {
	Role              string     `json:"role"`
	Requests          int64      `json:"requests"`
	ErrorPathRequests int64      `json:"error_path_requests"`
	ErrorPath500      int64      `json:"error_path_500"`
	Rate500           float64    `json:"rate_500"`
	Rate500CI95       [2]float64 `json:"rate_500_ci95"`
}

// Series holds fixed-width time buckets, for charts.
type Series struct {
	// Boundaries are the window starts inside the range.
	Boundaries []time.Time `json:"boundaries"`
	Points     []Point     `json:"points"`
}

// Point is one bucket × role. Buckets without requests are left out.
type Point struct {
	Time              time.Time `json:"time"`
	Role              string    `json:"role"`
	Requests          int64     `json:"requests"`
	ErrorPathRequests int64     `json:"error_path_requests"`
	Status500         int64     `json:"status_500"`
	ErrorPath500      int64     `json:"error_path_500"`
	// Rate500 is the share of 500 among error-path requests (0 when none).
	Rate500 float64 `json:"rate_500"`
}

// Matrix is the 500 share of error-path requests by the custom error
// responses of both distributions and by role, over the windows whose
// continuous deployment policy was enabled, outside peak hours. Windows
// of the same state are pooled.
type Matrix struct {
	// Rule says in words which requests the matrix counts.
	Rule string `json:"rule"`
	// Windows are the windows counted; PeakErrorPathRequests the
	// error-path requests of peak hours left out.
	Windows               []int `json:"windows"`
	PeakErrorPathRequests int64 `json:"peak_error_path_requests"`
	// Cells come production's setting off then on, staging's off then
	// on, production then staging: always eight.
	Cells []MatrixCell `json:"cells"`
}

// MatrixCell is one configuration × role of the matrix.
type MatrixCell struct {
	ProductionCustomErrors bool   `json:"production_custom_errors"`
	StagingCustomErrors    bool   `json:"staging_custom_errors"`
	Role                   string `json:"role"`
	// Observed is false when no window had this configuration; Windows
	// lists those that had it.
	Observed          bool  `json:"observed"`
	Windows           []int `json:"windows"`
	Requests          int64 `json:"requests"`
	ErrorPathRequests int64 `json:"error_path_requests"`
	ErrorPath500      int64 `json:"error_path_500"`
	// Rate500 and its 95% Wilson interval are null when there were no
	// error-path requests.
	Rate500     *float64    `json:"rate_500"`
	Rate500CI95 *[2]float64 `json:"rate_500_ci95"`
}

// Test is one test of association between the 500 response and a
// grouping, on error-path requests.
type Test struct {
	// Name says what is compared, e.g. "500 vs window (production)".
	Name string `json:"name"`
	// Method is "chi-square", "chi-square (Yates)", "fisher-exact",
	// "cochran-mantel-haenszel" (a 2×2 stratified by Strata) or "none"
	// when the table has no variation (every request had the same
	// outcome: nothing to test, p-value 1).
	Method string `json:"method"`
	// Groups name the rows of the table; Table holds [500, not 500]
	// counts per group.
	Groups    []string   `json:"groups"`
	Table     [][2]int64 `json:"table"`
	Statistic float64    `json:"statistic"`
	DF        int        `json:"df"`
	PValue    float64    `json:"p_value"`
	// PAdjusted is the p-value adjusted for the whole family of tests
	// (Holm–Bonferroni); it is what decides (below 0.05: Significant).
	// Null for a table with no variation, which is not in the family.
	PAdjusted   *float64 `json:"p_adjusted"`
	Significant bool     `json:"significant"`
	// Strata name the strata of a stratified test (empty otherwise).
	Strata []string `json:"strata"`
	// Effect is Cramér's V (phi for 2×2 tables).
	Effect float64 `json:"effect"`
	// RiskDifference is the first group's rate minus the second's, with
	// its 95% interval (Newcombe), for 2×2 tables.
	RiskDifference     *float64    `json:"risk_difference,omitempty"`
	RiskDifferenceCI95 *[2]float64 `json:"risk_difference_ci95,omitempty"`
	// Warning says why the test cannot say much (small cells).
	Warning string `json:"warning,omitempty"`
}

// Finding is a plain-language statement backed by numbers. Findings come
// ranked, the most telling first.
type Finding struct {
	Rank      int    `json:"rank"`
	Kind      string `json:"kind"`
	Statement string `json:"statement"`
	// Evidence holds the numbers behind the statement, by name.
	Evidence map[string]float64 `json:"evidence"`
	// Tests name the tests behind the statement, which are not ranked
	// as findings of their own.
	Tests []string `json:"tests"`
}

// A rate over no requests is unknown, not 0 with the interval [0, 1]:
// the JSON of a group without requests has null for the rate and its
// interval. The Go values stay 0 and [0, 1] (Rate and Wilson of an empty
// group), and decoding restores them, so that a result survives a round
// trip through JSON.

// MarshalJSON implements json.Marshaler.
func (c Cell) MarshalJSON() ([]byte, error) {
	type plain Cell
	b, err := json.Marshal(plain(c))
	if err != nil {
		return nil, err
	}
	if c.ErrorPathRequests == 0 {
		b = nullRate(b, "rate_500")
		b = nullRate(b, "rate_5xx")
	}
	if c.Requests == 0 {
		b = nullRate(b, "rate_500_all")
		b = nullRate(b, "rate_5xx_all")
	}
	return b, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Cell) UnmarshalJSON(b []byte) error {
	type plain Cell
	if err := json.Unmarshal(b, (*plain)(c)); err != nil {
		return err
	}
	if c.ErrorPathRequests == 0 {
		c.Rate500, c.Rate500CI95, c.Rate5xx, c.Rate5xxCI95 = 0, Wilson(0, 0, z95), 0, Wilson(0, 0, z95)
	}
	if c.Requests == 0 {
		c.Rate500All, c.Rate500AllCI95, c.Rate5xxAll, c.Rate5xxAllCI95 = 0, Wilson(0, 0, z95), 0, Wilson(0, 0, z95)
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (h Hour) MarshalJSON() ([]byte, error) {
	type plain Hour
	return marshalRate(plain(h), h.ErrorPathRequests)
}

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hour) UnmarshalJSON(b []byte) error {
	type plain Hour
	return unmarshalRate(b, (*plain)(h), &h.ErrorPathRequests, &h.Rate500, &h.Rate500CI95)
}

// MarshalJSON implements json.Marshaler.
func (d Weekday) MarshalJSON() ([]byte, error) {
	type plain Weekday
	return marshalRate(plain(d), d.ErrorPathRequests)
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Weekday) UnmarshalJSON(b []byte) error {
	type plain Weekday
	return unmarshalRate(b, (*plain)(d), &d.ErrorPathRequests, &d.Rate500, &d.Rate500CI95)
}

// MarshalJSON implements json.Marshaler.
func (g RateGroup) MarshalJSON() ([]byte, error) {
	type plain RateGroup
	return marshalRate(plain(g), g.ErrorPathRequests)
}

// UnmarshalJSON implements json.Unmarshaler.
func (g *RateGroup) UnmarshalJSON(b []byte) error {
	type plain RateGroup
	return unmarshalRate(b, (*plain)(g), &g.ErrorPathRequests, &g.Rate500, &g.Rate500CI95)
}

// windowRateGroupJSON is WindowRateGroup without the embedded
// RateGroup's methods, which would leave out Window and Peak.
type windowRateGroupJSON struct {
	Window int  `json:"window"`
	Peak   bool `json:"peak"`
	rateGroupFields
}

type rateGroupFields RateGroup

// MarshalJSON implements json.Marshaler.
func (g WindowRateGroup) MarshalJSON() ([]byte, error) {
	return marshalRate(windowRateGroupJSON{g.Window, g.Peak, rateGroupFields(g.RateGroup)}, g.ErrorPathRequests)
}

// UnmarshalJSON implements json.Unmarshaler.
func (g *WindowRateGroup) UnmarshalJSON(b []byte) error {
	var v windowRateGroupJSON
	if err := unmarshalRate(b, &v, &v.ErrorPathRequests, &v.Rate500, &v.Rate500CI95); err != nil {
		return err
	}
	*g = WindowRateGroup{Window: v.Window, Peak: v.Peak, RateGroup: RateGroup(v.rateGroupFields)}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (p Point) MarshalJSON() ([]byte, error) {
	type plain Point
	return marshalRate(plain(p), p.ErrorPathRequests)
}

func marshalRate(v any, n int64) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || n > 0 {
		return b, err
	}
	return nullRate(b, "rate_500"), nil
}

func unmarshalRate(b []byte, v any, n *int64, rate *float64, ci *[2]float64) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	if *n == 0 {
		*rate, *ci = 0, Wilson(0, 0, z95)
	}
	return nil
}

// nullRate sets, in the JSON object b of a group without requests, the
// field name and its interval name_ci95, when present, to null. Fields
// come before any map in these objects (and map keys from logs are
// quoted strings like the field names), so the first match is the field.
func nullRate(b []byte, name string) []byte {
	b = nullValue(b, `"`+name+`":`, ",}")
	return nullValue(b, `"`+name+`_ci95":`, "]")
}

// nullValue replaces the value after key, up to the first of the end
// bytes (a closing ']' included), by null.
func nullValue(b []byte, key, end string) []byte {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return b
	}
	start := i + len(key)
	j := bytes.IndexAny(b[start:], end)
	if j < 0 {
		return b
	}
	stop := start + j
	if b[stop] == ']' {
		stop++
	}
	return slices.Concat(b[:start], []byte("null"), b[stop:])
}

// DetectedComparison is a Comparison as reported: for each recorded
// change the nearest detected change and the lag, and the detected
// changes that no recorded change explains.
type DetectedComparison struct {
	// ToleranceSeconds is how far a detected change may lie from a
	// recorded one it explains (or the recorded time lies in the
	// detected change's interval).
	ToleranceSeconds float64              `json:"tolerance_seconds"`
	Recorded         []RecordedComparison `json:"recorded"`
	Unexplained      []ChangeSummary      `json:"unexplained"`
}

// RecordedComparison is one recorded change and the nearest detected
// change; Nearest and LagSeconds are null when nothing was detected.
type RecordedComparison struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	To   string    `json:"to"`
	// Nearest is the nearest detected change; LagSeconds its time minus
	// At (positive: detected after the record).
	Nearest    *ChangeSummary `json:"nearest_detected"`
	LagSeconds *float64       `json:"lag_seconds"`
	// Matched tells whether Nearest explains the recorded change.
	Matched bool `json:"matched"`
}

// ChangeSummary is a detected change: its time, the interval of its
// time, and what changed there.
type ChangeSummary struct {
	At      time.Time      `json:"at"`
	Low     time.Time      `json:"low"`
	High    time.Time      `json:"high"`
	Effects []EffectReport `json:"effects"`
}

// EffectReport is one series' change at a detected change.
type EffectReport struct {
	// Series is "error_path_500_share" or "staging_share"; Role the role
	// whose 500 share changed (empty for the staging share).
	Series string `json:"series"`
	Role   string `json:"role,omitempty"`
	// Before and After are the shares of the neighbouring segments with
	// their 95% Wilson intervals.
	Before     float64    `json:"before"`
	BeforeCI95 [2]float64 `json:"before_ci95"`
	After      float64    `json:"after"`
	AfterCI95  [2]float64 `json:"after_ci95"`
	// Text says it in words, e.g. "production 500 share 0.0% → 15.2%".
	Text string `json:"text"`
}
