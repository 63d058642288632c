package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

const (
	keyIDCanary = "AKIACANARYEXAMPLE"
	tokenCanary = "CANARYsessionTOKEN-zyxwvutsrqponm-0123456789"
)

func TestString(t *testing.T) {
	for _, in := range []string{
		"x-amz-security-token:" + tokenCanary,
		"X-Amz-Security-Token: " + tokenCanary + "\nhost: b",
		"<X-Amz-Security-Token>" + tokenCanary + "</X-Amz-Security-Token>",
		`{"SessionToken":"` + tokenCanary + `"}`,
		"GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + keyIDCanary + "%2F20250910%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=" + tokenCanary + "&X-Amz-Signature=0123abcd: EOF",
		"Authorization: AWS4-HMAC-SHA256 Credential=" + keyIDCanary + "/20250910/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + tokenCanary,
		"<AWSAccessKeyId>" + keyIDCanary + "</AWSAccessKeyId>",
		"access denied for " + keyIDCanary + " on bucket b",
		"token IQoJb3JpZ2luX2VjEK" + strings.Repeat("z", 40) + " expired",
	} {
		got := String(in)
		for _, canary := range []string{keyIDCanary, tokenCanary, "IQoJb3JpZ2lu", "0123abcd"} {
			if strings.Contains(got, canary) {
				t.Errorf("String(%q) = %q: %s left in", in, got, canary)
			}
		}
		if !strings.Contains(got, Mark) {
			t.Errorf("String(%q) = %q: nothing marked", in, got)
		}
	}
	// Text without credentials is unchanged.
	for _, in := range []string{
		"read s3://logs/cf/E2QWRUHEXAMPLE.2025-09-10-08.abcd.gz: unexpected EOF",
		"api error SlowDown: Please reduce your request rate.",
		"distribution E1AKIAEXAMPLE has no logs",
	} {
		if got := String(in); got != in {
			t.Errorf("String(%q) = %q, want it unchanged", in, got)
		}
	}
}

func TestReplaceAttr(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: ReplaceAttr}))
	log.Warn("object failed", "error", errors.New("x-amz-security-token:"+tokenCanary), "key", keyIDCanary)
	if s := buf.String(); strings.Contains(s, tokenCanary) || strings.Contains(s, keyIDCanary) || !strings.Contains(s, Mark) {
		t.Errorf("log line %q", s)
	}
}
