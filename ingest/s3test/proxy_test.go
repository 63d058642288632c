package s3test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// backend serves /bucket/key with a fixed body and echoes the Host header
// it received.
func backend(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyFaults(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	p := NewProxy(t, backend(t, body).URL)
	// No connection reuse: Go's transport silently repeats a GET whose
	// reused connection closes before the response.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantBody   func([]byte) bool
		wantErr    bool
	}{
		{name: "pass", fault: Pass, wantStatus: 200, wantBody: func(b []byte) bool { return bytes.Equal(b, body) }},
		{name: "slowdown", fault: SlowDown, wantStatus: 503, wantBody: func(b []byte) bool { return bytes.Contains(b, []byte("<Code>SlowDown</Code>")) }},
		{name: "internal error", fault: InternalError, wantStatus: 500, wantBody: func(b []byte) bool { return bytes.Contains(b, []byte("<Code>InternalError</Code>")) }},
		{name: "truncate", fault: Truncate, wantStatus: 200, wantBody: func(b []byte) bool { return bytes.Equal(b, body[:len(body)/2]) }},
		{name: "corrupt", fault: Corrupt, wantStatus: 200, wantBody: func(b []byte) bool { return len(b) == len(body) && !bytes.Equal(b, body) }},
		{name: "reset before headers", fault: ResetBeforeHeaders, wantErr: true},
		{name: "reset mid body", fault: ResetMidBody, wantStatus: 200, wantErr: true},
		{name: "stall", fault: Stall, wantStatus: 200, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.ClearRules()
			p.ResetRequests()
			p.AddRule(Rule{Method: "GET", Key: "k.gz", Fault: tt.fault, Times: 1})
			req, _ := http.NewRequest("GET", p.URL+"/bucket/k.gz", nil)
			req.Host = "bucket-host.example"
			req.Header.Set("amz-sdk-request", "attempt=2; max=3")
			resp, err := client.Do(req)
			var got []byte
			if err == nil {
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if tt.wantStatus == 200 && resp.Header.Get("X-Seen-Host") != "bucket-host.example" {
					t.Errorf("backend saw Host %q, want the client's", resp.Header.Get("X-Seen-Host"))
				}
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantBody != nil && !tt.wantBody(got) {
				t.Errorf("body of %d bytes is not what %s gives", len(got), tt.fault)
			}
			reqs := p.Requests()
			if len(reqs) != 1 || reqs[0].Fault != tt.fault || reqs[0].Attempt != 2 || reqs[0].Path != "/bucket/k.gz" {
				t.Errorf("requests %+v, want one with fault %s, attempt 2", reqs, tt.fault)
			}
			// The rule is spent: the next request passes.
			resp, err = client.Get(p.URL + "/bucket/k.gz")
			if err != nil {
				t.Fatal(err)
			}
			got, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("second request: %d bytes, %v; want the body unchanged", len(got), err)
			}
		})
	}
}

func TestProxyRuleMatching(t *testing.T) {
	p := NewProxy(t, backend(t, []byte("x")).URL)
	p.AddRule(Rule{Method: "GET", Key: "a.gz", Fault: SlowDown})
	p.AddRule(Rule{Method: "GET", Match: ObjectRequests, Fault: InternalError, Times: 1})
	tests := []struct {
		path string
		want int
	}{
		{"/bucket/a.gz", 503},
		{"/bucket/a.gz", 503}, // Times 0: every request
		{"/bucket", 200},      // a listing is no object request
		{"/bucket/b.gz", 500},
		{"/bucket/b.gz", 200}, // spent
		{"/bucket/xa.gz", 200},
	}
	for i, tt := range tests {
		resp, err := http.Get(p.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("request %d %s: status %d, want %d", i, tt.path, resp.StatusCode, tt.want)
		}
	}
	if n := p.Count("GET", "a.gz"); n != 2 {
		t.Errorf("Count(GET, a.gz) = %d, want 2", n)
	}
}

func TestAttempt(t *testing.T) {
	for h, want := range map[string]int{"attempt=1; max=3": 1, "max=3; attempt=3": 3, "": 0, "attempt=x": 0} {
		if got := attempt(h); got != want {
			t.Errorf("attempt(%q) = %d, want %d", h, got, want)
		}
	}
}
