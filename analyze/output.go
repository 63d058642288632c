package analyze

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes the result as indented JSON (the cflens.analysis/v1
// contract). The output is deterministic: fields in a fixed order, map
// keys sorted, times in RFC 3339 UTC.
func WriteJSON(w io.Writer, res *Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode analysis: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write analysis: %w", err)
	}
	return nil
}

// WriteText writes the result as plain aligned text.
func WriteText(w io.Writer, res *Result) error {
	ew := &errWriter{w: w}
	tf := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

	ew.printf("cflens analysis (%s)\n", res.Schema)
	ew.printf("range       %s – %s\n", tf(res.Range.From), tf(res.Range.To))
	ew.printf("time zone   %s (hours of day)\n", res.Timezone)
	ew.printf("settle      %s after each change; buckets of %s\n",
		time.Duration(res.SettleSeconds*float64(time.Second)), time.Duration(res.BucketSeconds*float64(time.Second)))
	ew.printf("production  %s\nstaging     %s\n", orDash(res.Distributions.Production), orDash(res.Distributions.Staging))
	in := res.Input
	ew.printf("input       %d objects, %d rows (%d analysed, %d out of range, %d settling, %d unknown role), %d rejected lines\n",
		in.Objects, in.Rows, in.Analyzed, in.OutOfRange, in.Settling, in.UnknownRole, in.RejectedLines)
	ew.printf("error paths %s: %d of %d paths, %d requests, %d got 500\n",
		res.ErrorPathRule, res.ErrorPaths.Error, res.ErrorPaths.Stems, res.ErrorPaths.Requests, res.ErrorPaths.Status500)

	ew.printf("\nFINDINGS\n")
	if len(res.Findings) == 0 {
		ew.printf("  (none)\n")
	}
	for _, f := range res.Findings {
		ew.printf("%3d. %s\n", f.Rank, f.Statement)
	}

	ew.printf("\nWINDOWS\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  id\tfrom\tto\tstate\n")
	for _, win := range res.Windows {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", win.ID, tf(win.From), tf(win.To), win.Label)
	}
	ew.flush(tw)

	ew.printf("\nCELLS (rates among error-path requests, 95%% Wilson intervals)\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "window\trole\trequests\terror-path\t500\trate 500\t95%% CI\t5xx rate\tgood-path 500\tall 500 rate\t\n")
	for _, c := range res.Cells {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t\n", c.Window, c.Role, c.Requests, c.ErrorPathRequests,
			c.ErrorPath500, pct(c.Rate500), ciText(c.Rate500CI95), pct(c.Rate5xx), c.GoodPath500, pct(c.Rate500All))
	}
	ew.flush(tw)
	for _, c := range res.Cells {
		if c.Status500 == 0 {
			continue
		}
		ew.printf("  window %d %s 500s: result %s; response %s; detailed %s\n", c.Window, c.Role,
			countsText(c.ResultTypes500), countsText(c.ResponseResultTypes500), countsText(c.DetailedResultTypes500))
	}

	if len(res.ErrorPaths.Top) > 0 {
		ew.printf("\nTOP ERROR PATHS\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, p := range res.ErrorPaths.Top {
			fmt.Fprintf(tw, "  %s\t%d requests\t%d 500\n", p.Stem, p.Requests, p.Status500)
		}
		ew.flush(tw)
	}
	if len(res.ErrorPaths.TopGood500) > 0 {
		ew.printf("\nGOOD PATHS WITH 500s\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, p := range res.ErrorPaths.TopGood500 {
			fmt.Fprintf(tw, "  %s\t%d requests\t%d 500\n", p.Stem, p.Requests, p.Status500)
		}
		ew.flush(tw)
	}

	ew.printf("\nPEAK HOURS (%s)\n", res.PeakHours.Rule)
	if len(res.PeakHours.Hours) == 0 {
		ew.printf("  none detected\n")
	} else {
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, p := range res.PeakHours.Hours {
			fmt.Fprintf(tw, "  %s\twindow %d\t%d requests\tstaging %s (policy %s)\n", tf(p.From), p.Window, p.Requests, pct(p.StagingShare), pct(p.ExpectedShare))
		}
		ew.flush(tw)
	}
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for i, inside := range res.PeakHours.Inside {
		out := res.PeakHours.Outside[i]
		fmt.Fprintf(tw, "  %s\tinside: %s (%s) of %d\toutside: %s (%s) of %d\n", inside.Role,
			pct(inside.Rate500), ciText(inside.Rate500CI95), inside.ErrorPathRequests, pct(out.Rate500), ciText(out.Rate500CI95), out.ErrorPathRequests)
	}
	ew.flush(tw)

	ew.printf("\nHOURS OF DAY (%s; rate among error-path requests)\n", res.Timezone)
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "hour\tprod req\tprod rate 500\tstaging req\tstaging rate 500\tstaging share\tpeak hours\t\n")
	byRole := map[string][]Hour{}
	for _, h := range res.Hours {
		byRole[h.Role] = append(byRole[h.Role], h)
	}
	for i, p := range byRole["production"] {
		var s Hour
		if i < len(byRole["staging"]) {
			s = byRole["staging"][i]
		}
		fmt.Fprintf(tw, "%02d\t%d\t%s\t%d\t%s\t%s\t%d\t\n", p.Hour, p.Requests, pct(p.Rate500), s.Requests, pct(s.Rate500), pct(p.StagingShare), p.PeakHours)
	}
	ew.flush(tw)

	ew.printf("\nTESTS (500 vs not, error-path requests)\n")
	for _, t := range res.Tests {
		ew.printf("  %s: %s, statistic %.3g, df %d, %s, effect %.3f", t.Name, t.Method, t.Statistic, t.DF, pText(t.PValue), t.Effect)
		if t.RiskDifference != nil {
			ew.printf(", difference %+.1f points (%+.1f to %+.1f)", 100**t.RiskDifference, 100*t.RiskDifferenceCI95[0], 100*t.RiskDifferenceCI95[1])
		}
		ew.printf("\n")
		if t.Warning != "" {
			ew.printf("    warning: %s\n", t.Warning)
		}
	}

	if len(res.Warnings) > 0 {
		ew.printf("\nWARNINGS\n")
		for _, s := range res.Warnings {
			ew.printf("  %s\n", s)
		}
	}
	return ew.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// countsText lists counts, most first: "Error 12, Miss 3".
func countsText(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

func (e *errWriter) flush(tw *tabwriter.Writer) {
	if err := tw.Flush(); err != nil && e.err == nil {
		e.err = err
	}
}
