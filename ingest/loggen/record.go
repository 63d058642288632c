package loggen

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LegacyFields are the 33 fields of a legacy standard log file, in the
// order CloudFront writes them.
var legacyFields = [...]string{
	"date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
	"cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query",
	"cs(Cookie)", "x-edge-result-type", "x-edge-request-id", "x-host-header",
	"cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol",
	"ssl-cipher", "x-edge-response-result-type", "cs-protocol-version", "fle-status",
	"fle-encrypted-fields", "c-port", "time-to-first-byte",
	"x-edge-detailed-result-type", "sc-content-type", "sc-content-len",
	"sc-range-start", "sc-range-end",
}

// NumFields is the number of fields of a generated legacy record.
const NumFields = len(legacyFields)

// LegacyFields returns the 33 field names of a legacy file, in order.
func LegacyFields() []string { return append([]string(nil), legacyFields[:]...) }

// LegacyHeader returns the two header lines that start every legacy file,
// exactly as CloudFront writes them.
func LegacyHeader() string {
	return "#Version: 1.0\n#Fields: " + strings.Join(legacyFields[:], " ") + "\n"
}

// picker draws values with relative weights.
type picker[T any] struct {
	cum    []float64
	values []T
}

func newPicker[T any](values []T, weight func(T) float64) picker[T] {
	p := picker[T]{cum: make([]float64, len(values)), values: values}
	var sum float64
	for i, v := range values {
		sum += weight(v)
		p.cum[i] = sum
	}
	return p
}

func (p *picker[T]) pick(r *rand.Rand) T {
	x := r.Float64() * p.cum[len(p.cum)-1]
	i := sort.SearchFloat64s(p.cum, x)
	if i >= len(p.values) {
		i = len(p.values) - 1
	}
	return p.values[i]
}

// weightedPicker draws the values of ws; a value listed twice gets both
// weights.
func weightedPicker(ws []Weighted) picker[string] {
	p := newPicker(ws, func(w Weighted) float64 { return w.Weight })
	return picker[string]{cum: p.cum, values: valuesOf(ws)}
}

func valuesOf(ws []Weighted) []string {
	vals := make([]string, len(ws))
	for i, w := range ws {
		vals[i] = w.Value
	}
	return vals
}

// Field values seen in real logs. User agents are percent-encoded as
// CloudFront logs them.
var (
	edgeLocations = []Weighted{
		{"IAD89-C1", 3}, {"IAD12-P3", 2}, {"JFK50-P2", 2}, {"ORD52-C2", 2}, {"DFW56-P1", 2},
		{"SFO53-C1", 2}, {"LAX50-P1", 2}, {"SEA19-C1", 1}, {"FRA56-P4", 3}, {"LHR61-P2", 3},
		{"CDG52-P3", 2}, {"AMS1-C1", 1}, {"NRT57-P3", 2}, {"SIN2-P1", 1}, {"SYD62-P1", 1},
		{"GRU3-C2", 1}, {"BOM78-P2", 1},
	}
	userAgents = []Weighted{
		{"Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/128.0.0.0%20Safari/537.36", 35},
		{"Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.6%20Safari/605.1.15", 15},
		{"Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_6%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.6%20Mobile/15E148%20Safari/604.1", 20},
		{"Mozilla/5.0%20(Linux;%20Android%2014;%20Pixel%208)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/128.0.0.0%20Mobile%20Safari/537.36", 12},
		{"Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:129.0)%20Gecko/20100101%20Firefox/129.0", 6},
		{"Mozilla/5.0%20(compatible;%20Googlebot/2.1;%20+http://www.google.com/bot.html)", 5},
		{"curl/8.5.0", 3},
		{"python-requests/2.32.3", 2},
		{"-", 2},
	}
	referers = []Weighted{
		{"-", 50}, {"https://www.example.com/", 30}, {"https://www.google.com/", 15},
		{"https://www.example.com/products/", 5},
	}
	queries = []Weighted{
		{"-", 80}, {"v=20250910", 10}, {"utm_source=newsletter&utm_medium=email", 5}, {"q=red%20shoes", 5},
	}
	protocolVersions = []Weighted{{"HTTP/2.0", 70}, {"HTTP/1.1", 25}, {"HTTP/3.0", 5}}
	tls13Ciphers     = []Weighted{
		{"TLS_AES_128_GCM_SHA256", 70}, {"TLS_AES_256_GCM_SHA384", 20}, {"TLS_CHACHA20_POLY1305_SHA256", 10},
	}
	tls12Ciphers = []Weighted{{"ECDHE-RSA-AES128-GCM-SHA256", 80}, {"ECDHE-RSA-AES256-GCM-SHA384", 20}}
)

// Documentation address blocks (RFC 5737, RFC 3849), so that no generated
// viewer is a real one.
var ipv4Prefixes = [...]string{"192.0.2.", "198.51.100.", "203.0.113."}

const (
	requestIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	// Sizes of the bodies that are not objects of the origin.
	redirectBytes    = 167  // CloudFront's 301 page
	notFoundXMLBytes = 298  // the origin's (S3's) NoSuchKey 404 document
	errorPageBytes   = 5124 // the custom error page
	serverErrorBytes = 951  // CloudFront's own 500 page
)

// outcome classifies a generated request for the truth.
type outcome uint8

const (
	outGood outcome = iota
	outAbort
	outErrorPlain
	outErrorCustom
	outError500
)

// model holds the pickers derived from a scenario.
type model struct {
	sc                                 *Scenario
	good, bad                          picker[Path]
	goodRes, fail                      picker[string]
	edge, ua, ref, query, pv, c13, c12 picker[string]
	// real, when set, draws paths, queries, user agents and cookies
	// with the cardinality of real traffic.
	real *realTraffic
}

func newModel(sc *Scenario) *model {
	w := func(p Path) float64 { return p.Weight }
	return &model{
		sc:      sc,
		good:    newPicker(sc.GoodPaths, w),
		bad:     newPicker(sc.ErrorPaths, w),
		goodRes: weightedPicker(sc.GoodResults),
		fail:    weightedPicker(sc.FailureDetails),
		edge:    weightedPicker(edgeLocations),
		ua:      weightedPicker(userAgents),
		ref:     weightedPicker(referers),
		query:   weightedPicker(queries),
		pv:      weightedPicker(protocolVersions),
		c13:     weightedPicker(tls13Ciphers),
		c12:     weightedPicker(tls12Ciphers),
	}
}

// state is what decides the response to an error path.
type state struct {
	customErrors bool
	p500         float64
}

// quirk is an oddity of real log files that a record may carry.
type quirk uint8

const (
	quirkNone quirk = iota
	// quirkTrailingTab ends the line with an extra TAB (legacy files only),
	// as record 3 of AWS's own example file does.
	quirkTrailingTab
	// quirkDoubleEncoded logs the user agent percent-encoded twice
	// (%2520), as CloudFront did for a time.
	quirkDoubleEncoded
	// quirkForwardedFor logs x-forwarded-for as "unknown" or ip:port.
	quirkForwardedFor
	numQuirks
)

// addRecord generates one record into l and says what happened to it.
func (m *model) addRecord(l *lines, r *rand.Rand, ts int64, domain string, st state) outcome {
	q := quirkNone
	if m.sc.QuirkRate > 0 && r.Float64() < m.sc.QuirkRate {
		q = quirk(1 + r.IntN(int(numQuirks)-1))
	}
	var o outcome
	l.buf, o = m.appendRecord(l.buf, r, ts, domain, st, q)
	l.ends = append(l.ends, len(l.buf))
	l.ts = append(l.ts, ts)
	l.trail = append(l.trail, q == quirkTrailingTab)
	return o
}

// appendRecord appends one TAB-separated 33-field record (no newline) for
// a request at ts (Unix milliseconds) to a distribution with the given
// domain, and says what happened to it.
func (m *model) appendRecord(b []byte, r *rand.Rand, ts int64, domain string, st state, q quirk) ([]byte, outcome) {
	t := time.UnixMilli(ts).UTC()
	b = t.AppendFormat(b, "2006-01-02\t15:04:05\t")
	b = append(b, m.edge.pick(r)...)
	b = append(b, '\t')

	errorPath := r.Float64() < m.sc.ErrorShare
	var p Path
	probe := false
	switch {
	case m.real != nil:
		probe = r.Float64() < m.real.probeShare
		errorPath = errorPath || probe
		switch {
		case probe:
		case errorPath:
			p = m.real.bad.pick(r)
		default:
			p = m.real.good.pick(r)
		}
	case errorPath:
		p = m.bad.pick(r)
	default:
		p = m.good.pick(r)
	}
	https := errorPath || r.Float64() >= 0.02
	method := "GET"
	if !errorPath && r.Float64() < 0.03 {
		method = "HEAD"
	}

	// The response.
	var (
		out                       outcome
		status                    int
		result, detail            string
		contentType               = p.ContentType
		body                      int64
		contentLen                = int64(-1)
		rangeStart, rangeEnd      = int64(-1), int64(-1)
		timeTaken, firstByteShare float64
	)
	switch {
	case errorPath:
		result, detail = "Error", "Error"
		switch {
		case r.Float64() < st.p500:
			out, status, detail = outError500, 500, m.fail.pick(r)
			contentType, body = "text/html", serverErrorBytes
			timeTaken = 0.002 + 0.2*r.Float64()
		case st.customErrors:
			out, status = outErrorCustom, m.sc.ErrorPageStatus
			contentType, body = "text/html", errorPageBytes
			timeTaken = 0.003 + 0.08*r.Float64()
		default:
			out, status = outErrorPlain, 404
			contentType, body = "application/xml", notFoundXMLBytes
			timeTaken = 0.010 + 0.15*r.Float64()
		}
		contentLen = body
		firstByteShare = 1
	case !https:
		out, status, result, detail = outGood, 301, "Redirect", "Redirect"
		contentType, body = "text/html", redirectBytes
		contentLen = body
		timeTaken, firstByteShare = 0.001*r.Float64(), 1
	case r.Float64() < m.sc.ClientAbortRate:
		out, status, result, detail = outAbort, 0, "Error", "ClientCommError"
		body = r.Int64N(p.Bytes/2 + 1)
		timeTaken, firstByteShare = 0.05+2*r.Float64(), 0.1
	default:
		out = outGood
		result = m.goodRes.pick(r)
		detail = result
		if result == "Miss" && r.Float64() < 0.2 {
			detail = "OriginShieldHit"
		}
		status, body = 200, p.Bytes
		if p.Range && r.Float64() < 0.9 {
			const chunk = 1 << 20
			status = 206
			rangeStart = r.Int64N(p.Bytes/chunk+1) * chunk
			rangeEnd = min(rangeStart+chunk-1, p.Bytes-1)
			body = rangeEnd - rangeStart + 1
		} else if result == "RefreshHit" && r.Float64() < 0.3 {
			status, body = 304, 0
		} else if !p.Range && strings.HasPrefix(contentType, "text/html") {
			// Pages are rendered: their size varies a little.
			body += r.Int64N(512)
		}
		if method == "HEAD" {
			body = 0
		}
		contentLen = body
		if result == "Miss" {
			timeTaken = 0.03 + 0.4*r.Float64()
		} else {
			timeTaken = 0.001 * float64(r.IntN(12))
		}
		timeTaken += float64(body) / 50e6 // ~400 Mbit/s to the viewer
		firstByteShare = 0.3 + 0.7*r.Float64()
	}
	headerBytes := int64(280 + r.IntN(400))
	scBytes := headerBytes + body

	b = strconv.AppendInt(b, scBytes, 10)
	b = append(b, '\t')
	b = m.appendIP(b, r)
	b = append(b, '\t')
	b = append(b, method...)
	b = append(b, '\t')
	b = append(b, domain...)
	b = append(b, '\t')
	if probe {
		b = m.real.appendProbe(b, r)
	} else {
		b = append(b, p.Path...)
	}
	b = append(b, '\t')
	if status == 0 {
		b = append(b, "000"...)
	} else {
		b = strconv.AppendInt(b, int64(status), 10)
	}
	b = append(b, '\t')
	b = append(b, m.ref.pick(r)...)
	b = append(b, '\t')
	switch ua := m.ua.pick(r); {
	case q == quirkDoubleEncoded:
		b = append(b, strings.ReplaceAll(ua, "%", "%25")...)
	case m.real != nil && r.IntN(10) < 8:
		b = m.real.appendUserAgent(b, r)
	default:
		b = append(b, ua...)
	}
	b = append(b, '\t')
	if m.real != nil {
		b = m.real.appendQuery(b, r)
		b = append(b, '\t')
		b = m.real.appendCookie(b, r)
		b = append(b, '\t')
	} else {
		b = append(b, m.query.pick(r)...)
		b = append(b, "\t-\t"...) // cs(Cookie): cookie logging off
	}
	b = append(b, result...)
	b = append(b, '\t')
	b = appendRequestID(b, r)
	b = append(b, '\t')
	b = append(b, m.sc.HostHeader...)
	if https {
		b = append(b, "\thttps\t"...)
	} else {
		b = append(b, "\thttp\t"...)
	}
	b = strconv.AppendInt(b, int64(180+r.IntN(700)), 10)
	b = append(b, '\t')
	b = strconv.AppendFloat(b, timeTaken, 'f', 3, 64)
	b = append(b, '\t')
	switch {
	case q != quirkForwardedFor:
		b = m.appendForwardedFor(b, r)
	case r.IntN(2) == 0:
		b = append(b, "unknown"...)
	default:
		b = append(b, ipv4Prefixes[r.IntN(len(ipv4Prefixes))]...)
		b = strconv.AppendInt(b, int64(1+r.IntN(254)), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(1024+r.IntN(64512)), 10)
	}
	b = append(b, '\t')
	switch {
	case !https:
		b = append(b, "-\t-"...)
	case r.Float64() < 0.7:
		b = append(b, "TLSv1.3\t"...)
		b = append(b, m.c13.pick(r)...)
	default:
		b = append(b, "TLSv1.2\t"...)
		b = append(b, m.c12.pick(r)...)
	}
	b = append(b, '\t')
	b = append(b, result...) // x-edge-response-result-type
	b = append(b, '\t')
	b = append(b, m.pv.pick(r)...)
	b = append(b, "\t-\t-\t"...) // fle-status, fle-encrypted-fields
	b = strconv.AppendInt(b, int64(1024+r.IntN(64512)), 10)
	b = append(b, '\t')
	b = strconv.AppendFloat(b, timeTaken*firstByteShare, 'f', 3, 64)
	b = append(b, '\t')
	b = append(b, detail...)
	b = append(b, '\t')
	b = appendDash(b, contentType)
	b = append(b, '\t')
	b = appendIntOrDash(b, contentLen)
	b = append(b, '\t')
	b = appendIntOrDash(b, rangeStart)
	b = append(b, '\t')
	b = appendIntOrDash(b, rangeEnd)
	return b, out
}

func appendDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

func appendIntOrDash(b []byte, v int64) []byte {
	if v < 0 {
		return append(b, '-')
	}
	return strconv.AppendInt(b, v, 10)
}

// appendIP appends a viewer address: IPv4 four times in five, else IPv6.
func (m *model) appendIP(b []byte, r *rand.Rand) []byte {
	if r.IntN(5) > 0 {
		b = append(b, ipv4Prefixes[r.IntN(len(ipv4Prefixes))]...)
		return strconv.AppendInt(b, int64(1+r.IntN(254)), 10)
	}
	b = append(b, "2001:db8"...)
	for range 6 {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(r.IntN(1<<16)), 16)
	}
	return b
}

// appendForwardedFor appends x-forwarded-for: mostly "-", sometimes one
// address, rarely a list joined the way CloudFront writes it (a comma
// and a literal \x20).
func (m *model) appendForwardedFor(b []byte, r *rand.Rand) []byte {
	switch x := r.IntN(100); {
	case x < 95:
		return append(b, '-')
	case x < 99:
		return m.appendIP(b, r)
	default:
		b = m.appendIP(b, r)
		b = append(b, `,\x20`...)
		return m.appendIP(b, r)
	}
}

// appendRequestID appends a 56-character x-edge-request-id, the URL-safe
// base64 of 40 bytes: 53 free characters, one holding the last two bits
// (so one of A, Q, g, w), and "==".
func appendRequestID(b []byte, r *rand.Rand) []byte {
	for i := 0; i < 53; {
		x := r.Uint64()
		for j := 0; j < 10 && i < 53; j++ {
			b = append(b, requestIDChars[x&63])
			x >>= 6
			i++
		}
	}
	b = append(b, "AQgw"[r.IntN(4)])
	return append(b, "=="...)
}
