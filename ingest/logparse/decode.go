package logparse

import (
	"net"
	"net/url"
	"strings"
)

// Decode percent-decodes a value as logged, once. Values stay encoded in
// the data; decoding is a view for display. Invalid escapes are kept as
// they are.
func Decode(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	// Decode what can be decoded, escape by escape.
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b.WriteByte(unhex(v[i+1])<<4 | unhex(v[i+2]))
			i += 2
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// DecodeLegacy undoes the double encoding CloudFront applied to some
// fields (user agents, URIs) before December 2019, where a space was
// logged as %2520, then decodes once: "%2520" → " ". Use it only for
// display of values known to come from such files: applied to a value
// that was encoded once, it decodes one level too many.
func DecodeLegacy(v string) string {
	if strings.Contains(v, "%25") {
		v = strings.ReplaceAll(v, "%25", "%")
	}
	return Decode(v)
}

// ForwardedFor splits an x-forwarded-for value into addresses. It takes
// the separators real logs carry (", ", ",", and the literal `\x20` that
// CloudFront writes for a space), strips ports from "ip:port" and
// "[v6]:port", and leaves out "unknown" and empty entries.
func ForwardedFor(v string) []string {
	if v == "" || v == "-" {
		return nil
	}
	v = strings.ReplaceAll(v, `\x20`, " ")
	var out []string
	for _, part := range strings.Split(v, ",") {
		a := strings.TrimSpace(part)
		if a == "" || strings.EqualFold(a, "unknown") {
			continue
		}
		if a = stripPort(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func stripPort(a string) string {
	if strings.HasPrefix(a, "[") {
		if host, _, err := net.SplitHostPort(a); err == nil {
			return host
		}
		return strings.Trim(a, "[]")
	}
	if strings.Count(a, ":") == 1 {
		if host, _, err := net.SplitHostPort(a); err == nil {
			return host
		}
	}
	return a // IPv4, or IPv6 without a port
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
