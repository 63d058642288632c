package logparse

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, once, legacy string
	}{
		{"plain", "/index.html", "/index.html", "/index.html"},
		{"once", "Mozilla/5.0%20(Windows)", "Mozilla/5.0 (Windows)", "Mozilla/5.0 (Windows)"},
		{"double", "Mozilla/5.0%2520(Windows)", "Mozilla/5.0%20(Windows)", "Mozilla/5.0 (Windows)"},
		{"double slash", "/a%252Fb", "/a%2Fb", "/a/b"},
		{"bad escape kept", "100%zz%41", "100%zzA", "100%zzA"},
		{"never twice", "%2541", "%41", "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decode(tt.in); got != tt.once {
				t.Errorf("Decode(%q) = %q, want %q", tt.in, got, tt.once)
			}
			if got := DecodeLegacy(tt.in); got != tt.legacy {
				t.Errorf("DecodeLegacy(%q) = %q, want %q", tt.in, got, tt.legacy)
			}
		})
	}
}

func TestForwardedFor(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"null", "-", nil},
		{"comma space", "1.2.3.4, 5.6.7.8, 9.10.11.12", []string{"1.2.3.4", "5.6.7.8", "9.10.11.12"}},
		// From asaaki/cloudfront-logs (see testdata/samples): CloudFront writes a literal \x20.
		{"literal x20", `24.62.90.247,\x2010.89.113.224, 10.89.11.75`, []string{"24.62.90.247", "10.89.113.224", "10.89.11.75"}},
		{"ports", "203.0.113.9:4431,[2001:db8::1]:443", []string{"203.0.113.9", "2001:db8::1"}},
		{"ipv6 bare", "2001:db8::2", []string{"2001:db8::2"}},
		{"unknown", "unknown, 198.51.100.7", []string{"198.51.100.7"}},
		{"lone bracket (found by fuzzing)", "[, []:80, 192.0.2.1", []string{"192.0.2.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ForwardedFor(tt.in)); diff != "" {
				t.Errorf("ForwardedFor(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"%2520", "%", "%4", "a%20b", `1.2.3.4,\x20[::1]:80`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = DecodeLegacy(s)
		for _, a := range ForwardedFor(s) {
			if a == "" {
				t.Fatalf("empty address from %q", s)
			}
		}
	})
}
