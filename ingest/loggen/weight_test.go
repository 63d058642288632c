package loggen

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestWindowWeight checks a window that re-weights the policy: staging's
// share follows the window's weight, and the timeline records the change.
func TestWindowWeight(t *testing.T) {
	sc := smallScenario()
	w := 0.05
	last := sc.Windows[len(sc.Windows)-1]
	last.Start = last.Start.Add(6 * time.Hour)
	last.Weight = &w
	sc.Windows = append(sc.Windows, last)
	_, tr := generateMem(t, sc)
	var stg, all [2]int64 // before, after the re-weighting
	for _, h := range tr.Hours {
		if h.Peak {
			continue
		}
		k := 0
		if !h.Start.Before(last.Start) {
			k = 1
		}
		stg[k] += int64(h.Staging)
		all[k] += int64(h.Production + h.Staging)
	}
	for k, want := range []float64{sc.Weight, w} {
		got := float64(stg[k]) / float64(all[k])
		if se := math.Sqrt(want * (1 - want) / float64(all[k])); math.Abs(got-want) > 5*se {
			t.Errorf("staging share %.3f, want %.2f", got, want)
		}
	}
	line := "  - at: " + last.Start.Format(time.RFC3339) + "\n    continuous_deployment: {weight: 0.05}\n"
	if y := string(sc.TimelineYAML()); !strings.Contains(y, line) {
		t.Errorf("timeline lacks %q:\n%s", line, y)
	}
	bad := *sc
	bad.Windows = append([]Window(nil), sc.Windows...)
	two := 2.0
	bad.Windows[1].Weight = &two
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "window 1 weight") {
		t.Errorf("weight 2 accepted: %v", err)
	}
}
