package loggen

import "time"

// The scenarios below vary the motivating case to check what an analysis
// may and may not conclude from it.

// NegativeControlScenario is DefaultScenario where 500s do not depend on
// the configuration or the role: every error-path request outside peak
// hours gets a 500 with probability p500, whatever the custom error
// responses of either distribution. The peaks (staging without traffic,
// production without 500s) fall only on days 2 to 5, the days with
// custom error responses on somewhere, so that a comparison that keeps
// them in finds a difference that the configuration did not make.
func NegativeControlScenario(scale, p500 float64) *Scenario {
	s := DefaultScenario(scale)
	s.Seed = 7
	for i := range s.Windows {
		s.Windows[i].P500 = Roles[float64]{Production: p500, Staging: p500}
	}
	s.Peaks = s.Peaks[1:]
	return s
}

// Own-setting scenario figures: each distribution's error paths fail
// only while its own custom error responses are on.
const (
	OwnSettingP500Production = 0.15
	OwnSettingP500Staging    = 0.6
)

// OwnSettingScenario is DefaultScenario where each distribution's 500s
// follow its own setting only: production's error paths get 500 with
// probability OwnSettingP500Production while production has custom error
// responses on, staging's with OwnSettingP500Staging while staging has
// them on, and never otherwise.
func OwnSettingScenario(scale float64) *Scenario {
	s := DefaultScenario(scale)
	s.Seed = 11
	for i, w := range s.Windows {
		var p Roles[float64]
		if w.CustomErrors.Production {
			p.Production = OwnSettingP500Production
		}
		if w.CustomErrors.Staging {
			p.Staging = OwnSettingP500Staging
		}
		s.Windows[i].P500 = p
	}
	return s
}

// EmptyCellScenario is DefaultScenario with a fifth window, 18:00–21:00
// UTC of the last day, inside that day's peak: custom error responses off
// on both again. Staging gets no request in it, so its window × role
// cell is empty.
func EmptyCellScenario(scale float64) *Scenario {
	s := DefaultScenario(scale)
	s.Seed = 13
	last := s.Start.Add(4*24*time.Hour + 18*time.Hour)
	s.Windows = append(s.Windows, Window{Start: last})
	s.Hours = 4*24 + 21
	return s
}

// DSTFallBackScenario covers the end of daylight saving time in
// America/New_York (2025-11-02, when 02:00 EDT becomes 01:00 EST, so
// that local 01:00–02:00 happens twice: 05:00–06:00 and 06:00–07:00 UTC)
// with custom error responses on both throughout and one peak, in the
// first of the two 01:00 hours only.
func DSTFallBackScenario(scale float64) *Scenario {
	s := DefaultScenario(scale)
	s.Seed = 17
	s.Start = time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
	s.Hours = 36
	s.Windows = []Window{{Start: s.Start, CustomErrors: Roles[bool]{Production: true, Staging: true},
		P500: Roles[float64]{Production: BothOnP500Production, Staging: BothOnP500Staging}}}
	// A flat profile: enough traffic at night for a peak to be seen.
	for h := range s.Profile {
		s.Profile[h] = 1
	}
	peak := time.Date(2025, 11, 2, 5, 0, 0, 0, time.UTC)
	s.Peaks = []Interval{{Start: peak, End: peak.Add(time.Hour)}}
	return s
}

// HiddenErrorsScenario is DefaultScenario where the custom error
// responses answer with 200 and the error page: every error-path request
// a custom error response answered is logged as an Error result with
// sc-status 200, a failure the viewer never sees as one.
func HiddenErrorsScenario(scale float64) *Scenario {
	s := DefaultScenario(scale)
	s.Seed = 19
	s.ErrorPageStatus = 200
	return s
}

// StickyScenario is DefaultScenario with a sticky policy.
func StickyScenario(scale float64) *Scenario {
	s := DefaultScenario(scale)
	s.Sticky = true
	return s
}
