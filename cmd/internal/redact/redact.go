// Package redact removes credentials from text that cflens prints or
// writes: error messages may echo what a request carried (an S3-compatible
// endpoint that quotes the request's headers, a presigned URL in a
// transport error), and none of it may reach a terminal, a log, a summary
// or a report.
//
// What is removed: AWS access key IDs, session tokens (labelled, or by
// their own prefix), the value of an Authorization header, and the
// X-Amz-Security-Token, X-Amz-Credential and X-Amz-Signature values of
// headers and presigned query strings. Each becomes [REDACTED].
package redact

import (
	"log/slog"
	"regexp"
)

// Mark replaces what is removed.
const Mark = "[REDACTED]"

// The patterns are compiled once and only read: they hold no state that
// a call could change.
var (
	// A labelled value: a header or query parameter, a field of an
	// echoed XML or JSON error, an environment variable.
	labelled = regexp.MustCompile(`(?i)(x-amz-security-token|x-amz-credential|x-amz-signature|aws_session_token|aws_secret_access_key|aws_access_key_id|sessiontoken|securitytoken|secretaccesskey|awsaccesskeyid|accesskeyid)(["']?\s*[:=]\s*["']?|["']?>)[^\s&"'<>,;]+`)
	// The value of an Authorization header runs to the end of the line
	// (it holds spaces: "AWS4-HMAC-SHA256 Credential=…, Signature=…").
	authorization = regexp.MustCompile(`(?i)(authorization)(["']?\s*[:=]\s*["']?|["']?>)[^\n<"']*`)
	// An access key ID on its own: a known prefix and 12 or more upper
	// letters and digits.
	keyID = regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{12,124}\b`)
	// A session token on its own, by the prefixes STS gives them.
	token = regexp.MustCompile(`(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9+/=%]{16,}`)
)

// String returns s with every credential replaced by Mark.
func String(s string) string {
	s = authorization.ReplaceAllString(s, "${1}${2}"+Mark)
	s = labelled.ReplaceAllString(s, "${1}${2}"+Mark)
	s = keyID.ReplaceAllString(s, Mark)
	return token.ReplaceAllString(s, Mark)
}

// Error returns the text of err with every credential replaced by Mark,
// or "" for nil.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return String(err.Error())
}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that redacts every
// string and error a log record carries.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(String(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			a.Value = slog.StringValue(Error(err))
		}
	}
	return a
}
