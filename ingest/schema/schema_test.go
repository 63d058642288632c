package schema

import "testing"

func TestIsDistributionID(t *testing.T) {
	for _, s := range []string{"E1", "EPROD", "E2QWRUHEXAMPLE", "E3UN6WX5RRO2AG", "E12345678901234567890"} {
		if !IsDistributionID(s) {
			t.Errorf("IsDistributionID(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "E", "e1", "X1EXAMPLE", "E1example", "E1 EXAMPLE", "E123456789012345678901",
		"E1\x1b]0;title\a", "E1\u202eEXAMPLE", "E1/../x", "E1EXAMPLE\n"} {
		if IsDistributionID(s) {
			t.Errorf("IsDistributionID(%q) = true, want false", s)
		}
	}
}
