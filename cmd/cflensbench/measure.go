package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// sample is one timed run of one tool.
type sample struct {
	Rep  int           `json:"rep"`
	Wall time.Duration `json:"-"`
	// CPU is user plus system time of the measured processes.
	CPU time.Duration `json:"-"`
	// MaxRSS is the peak resident set size in bytes of the measured
	// process (the largest, for a pipeline).
	MaxRSS int64 `json:"max_rss_bytes"`
	// Rows is what the tool says it read, checked against the corpus.
	Rows int64 `json:"rows"`

	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
}

// child is one process of a measurement: cmd runs shown under spawn.
type child struct {
	cmd    *exec.Cmd
	shown  *exec.Cmd
	rusage string
	stdout bytes.Buffer
	stderr bytes.Buffer
}

// measure runs the commands as one pipeline (each one's stdout feeding the
// next one's stdin; the last one's stdout is kept), each under
// "self spawn", and returns the wall time from the first start to the last
// exit, the CPU time of all of them, the largest peak RSS among them (from
// their own rusage, recorded by spawn in dir) and the last one's stdout.
func measure(ctx context.Context, self, dir string, cmds ...*exec.Cmd) (sample, []byte, error) {
	if len(cmds) == 0 {
		return sample{}, nil, errors.New("measure: no command")
	}
	children := make([]*child, len(cmds))
	for i, c := range cmds {
		f, err := os.CreateTemp(dir, "rusage-*.json")
		if err != nil {
			return sample{}, nil, fmt.Errorf("measure: %w", err)
		}
		f.Close()
		defer os.Remove(f.Name())
		w := exec.CommandContext(ctx, self, append([]string{"spawn", "--rusage", f.Name(), "--", c.Path}, c.Args[1:]...)...)
		w.Env, w.Dir = c.Env, c.Dir
		children[i] = &child{cmd: w, shown: c, rusage: f.Name()}
	}
	for i, ch := range children {
		ch.cmd.Stderr = &limitedBuffer{b: &ch.stderr, n: 64 << 10, tail: true}
		if i+1 < len(children) {
			r, err := ch.cmd.StdoutPipe()
			if err != nil {
				return sample{}, nil, fmt.Errorf("measure %s: %w", commandLine(ch.shown), err)
			}
			children[i+1].cmd.Stdin = r
		} else {
			ch.cmd.Stdout = &limitedBuffer{b: &ch.stdout, n: 1 << 20}
		}
	}
	start := time.Now()
	for i, ch := range children {
		if err := ch.cmd.Start(); err != nil {
			for _, prev := range children[:i] {
				prev.cmd.Process.Kill()
				prev.cmd.Wait()
			}
			return sample{}, nil, fmt.Errorf("start %s: %w", commandLine(ch.shown), err)
		}
	}
	var errs []error
	// Wait in reverse order: StdoutPipe wants its reader done before the
	// writer's Wait closes the pipe.
	for i := len(children) - 1; i >= 0; i-- {
		ch := children[i]
		if err := ch.cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w: %s", commandLine(ch.shown), err, lastLines(ch.stderr.String(), 5)))
		}
	}
	var s sample
	s.Wall = time.Since(start)
	for _, ch := range children {
		var u resourceUse
		b, err := os.ReadFile(ch.rusage)
		if err == nil {
			err = json.Unmarshal(b, &u)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rusage of %s: %w", commandLine(ch.shown), err))
			continue
		}
		s.CPU += time.Duration(u.UserNs + u.SysNs)
		// Linux reports ru_maxrss in KiB.
		s.MaxRSS = max(s.MaxRSS, u.MaxRSSKiB*1024)
	}
	s.WallSeconds, s.CPUSeconds = s.Wall.Seconds(), s.CPU.Seconds()
	if err := ctx.Err(); err != nil {
		return s, nil, err
	}
	if len(errs) > 0 {
		return s, nil, errors.Join(errs...)
	}
	return s, children[len(children)-1].stdout.Bytes(), nil
}

// commandLine shows a command for an error message, with long argument
// lists cut short.
func commandLine(c *exec.Cmd) string {
	args := c.Args
	if len(args) > 8 {
		args = append(append([]string(nil), args[:8]...), fmt.Sprintf("… (%d more)", len(c.Args)-8))
	}
	return strings.Join(args, " ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// limitedBuffer keeps the first n bytes written (the last n to 2n with
// tail, where errors are), so a chatty child cannot fill the runner's
// memory.
type limitedBuffer struct {
	b    *bytes.Buffer
	n    int
	tail bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.tail {
		l.b.Write(p)
		if l.b.Len() > 2*l.n {
			keep := append([]byte(nil), l.b.Bytes()[l.b.Len()-l.n:]...)
			l.b.Reset()
			l.b.Write(keep)
		}
		return len(p), nil
	}
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ io.Writer = (*limitedBuffer)(nil)
