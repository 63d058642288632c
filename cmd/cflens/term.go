package main

import (
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cflens/cflens/ingest"
)

// isTerminal tells whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// progress draws a bar on stderr when it is a terminal, and nothing
// otherwise.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	start time.Time
}

func newProgress(w io.Writer, what string) *progress {
	p := &progress{start: time.Now()}
	if !isTerminal(w) {
		return p
	}
	p.bar = progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("objects"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

func (p *progress) update(pr ingest.Progress) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !pr.Listing && p.bar.GetMax64() != pr.Listed {
		p.bar.ChangeMax64(pr.Listed)
	}
	secs := time.Since(p.start).Seconds()
	p.bar.Describe(formatProgress(pr, secs))
	p.bar.Set64(pr.Done + pr.Failed)
}

func formatProgress(pr ingest.Progress, secs float64) string {
	rate := 0.0
	if secs > 0 {
		rate = float64(pr.Rows) / secs
	}
	return strings.TrimSpace(strings.Join([]string{
		"objects", itoa(pr.Done), "rows", itoa(pr.Rows), humanBytes(pr.Bytes), itoa(int64(rate)) + " rows/s",
	}, " "))
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
