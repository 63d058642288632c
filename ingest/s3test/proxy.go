package s3test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what the proxy does to a request.
type Fault int

const (
	// Pass forwards the request unchanged.
	Pass Fault = iota
	// SlowDown answers 503 SlowDown without forwarding.
	SlowDown
	// InternalError answers 500 InternalError without forwarding.
	InternalError
	// ResetBeforeHeaders closes the connection without answering.
	ResetBeforeHeaders
	// ResetMidBody sends the headers and half of the body, then closes
	// the connection.
	ResetMidBody
	// Truncate sends half of the body with a Content-Length saying so.
	Truncate
	// Corrupt flips one byte in the middle of the body.
	Corrupt
	// Stall sends the headers and half of the body, then nothing until
	// the client gives up or the proxy closes.
	Stall
)

func (f Fault) String() string {
	switch f {
	case Pass:
		return "pass"
	case SlowDown:
		return "slowdown"
	case InternalError:
		return "internal-error"
	case ResetBeforeHeaders:
		return "reset-before-headers"
	case ResetMidBody:
		return "reset-mid-body"
	case Truncate:
		return "truncate"
	case Corrupt:
		return "corrupt"
	case Stall:
		return "stall"
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Rule applies a fault to matching requests.
type Rule struct {
	// Method matches the HTTP method; empty matches any.
	Method string
	// Key matches requests whose path ends with "/"+Key (the object key
	// in a path-style URL); empty matches any path.
	Key string
	// Match, when set, must also accept the request.
	Match func(*http.Request) bool
	// Fault is applied to matching requests.
	Fault Fault
	// Times is the number of matching requests that get the fault;
	// after that the rule is spent. Zero or less: every one.
	Times int
}

// Request is one request the proxy saw.
type Request struct {
	Method string
	// Path is the unescaped URL path, /bucket/key.
	Path  string
	Query string
	// Attempt is the SDK's attempt number from the amz-sdk-request header
	// (1 for the first try), or 0 when the header is absent.
	Attempt int
	Fault   Fault
}

// Proxy is a reverse proxy in front of an S3 server that injects faults.
// It keeps the client's Host header, so SigV4 signatures stay valid.
type Proxy struct {
	// URL is the proxy's endpoint.
	URL string

	target *url.URL
	tr     *http.Transport
	done   chan struct{}

	mu       sync.Mutex
	rules    []*ruleState
	latency  time.Duration
	requests []Request
}

type ruleState struct {
	Rule
	left int // < 0: unlimited
}

// NewProxy starts a proxy to target on 127.0.0.1; it stops on cleanup,
// releasing stalled responses.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %q: %v", target, err)
	}
	p := &Proxy{
		target: u,
		tr: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     30 * time.Second,
		},
		done: make(chan struct{}),
	}
	srv := httptest.NewServer(p)
	p.URL = srv.URL
	t.Cleanup(func() {
		close(p.done)
		srv.CloseClientConnections()
		srv.Close()
		p.tr.CloseIdleConnections()
	})
	return p
}

// AddRule adds a fault rule; rules are tried in the order added.
func (p *Proxy) AddRule(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	left := r.Times
	if left <= 0 {
		left = -1
	}
	p.rules = append(p.rules, &ruleState{Rule: r, left: left})
}

// ClearRules removes every rule.
func (p *Proxy) ClearRules() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// SetLatency delays every request by d before it is handled.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Requests returns the requests seen so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// ResetRequests forgets the requests seen so far.
func (p *Proxy) ResetRequests() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}

// ObjectRequests matches requests for objects (a key after the bucket in a
// path-style URL), not listings or bucket operations.
func ObjectRequests(r *http.Request) bool {
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return key != ""
}

// Count returns the number of requests seen with method whose path ends
// with "/"+key (any path when key is empty).
func (p *Proxy) Count(method, key string) int {
	n := 0
	for _, r := range p.Requests() {
		if (method == "" || r.Method == method) && (key == "" || strings.HasSuffix(r.Path, "/"+key)) {
			n++
		}
	}
	return n
}

func (p *Proxy) decide(r *http.Request) (Fault, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := Pass
	for _, rs := range p.rules {
		if rs.left == 0 {
			continue
		}
		if rs.Method != "" && rs.Method != r.Method {
			continue
		}
		if rs.Key != "" && !strings.HasSuffix(r.URL.Path, "/"+rs.Key) {
			continue
		}
		if rs.Match != nil && !rs.Match(r) {
			continue
		}
		if rs.left > 0 {
			rs.left--
		}
		f = rs.Fault
		break
	}
	p.requests = append(p.requests, Request{
		Method:  r.Method,
		Path:    r.URL.Path,
		Query:   r.URL.RawQuery,
		Attempt: attempt(r.Header.Get("amz-sdk-request")),
		Fault:   f,
	})
	return f, p.latency
}

// attempt reads "attempt=2; max=3".
func attempt(h string) int {
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == "attempt" {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fault, latency := p.decide(r)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-p.done:
			t.Stop()
			return
		}
	}
	switch fault {
	case SlowDown:
		writeError(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	case InternalError:
		writeError(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	case ResetBeforeHeaders:
		panic(http.ErrAbortHandler)
	}

	out := r.Clone(r.Context())
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	out.RequestURI = ""
	out.Host = r.Host // the SigV4 signature covers it
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, fmt.Sprintf("proxy: %v", err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, fmt.Sprintf("proxy: read response: %v", err), http.StatusBadGateway)
		return
	}
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	if fault == Pass || r.Method != http.MethodGet || resp.StatusCode != http.StatusOK || len(body) < 2 {
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return
	}
	half := body[:len(body)/2]
	switch fault {
	case Truncate:
		h.Set("Content-Length", strconv.Itoa(len(half)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(half)
	case Corrupt:
		c := bytes.Clone(body)
		c[len(c)/2] ^= 0xff
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(c)
	case ResetMidBody:
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(half)
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	case Stall:
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(half)
		http.NewResponseController(w).Flush()
		t := time.NewTimer(2 * time.Minute)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-p.done:
		case <-t.C:
		}
		panic(http.ErrAbortHandler)
	default:
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>%s</Message><RequestId>cflens-proxy</RequestId></Error>`, code, msg)
}
