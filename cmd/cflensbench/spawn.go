package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cflens/cflens/cmd/internal/usage"
)

// spawnOptions are those of the hidden spawn subcommand.
type spawnOptions struct {
	rusage string
	argv   []string
}

// resourceUse is a child's resource use, as spawn records it.
type resourceUse struct {
	// MaxRSSKiB is ru_maxrss: the peak resident set size in KiB.
	MaxRSSKiB int64 `json:"max_rss_kib"`
	UserNs    int64 `json:"user_ns"`
	SysNs     int64 `json:"sys_ns"`
}

// newSpawnCmd is the small process every measured tool runs under. On
// Linux a process started with vfork (as Go starts every child) inherits
// its parent's peak RSS in ru_maxrss when it execs, so a child of the
// runner (which has generated corpora, and holds their names) would show
// at least the runner's peak. spawn is a fresh, small process: the tool it
// starts inherits only spawn's few MiB, and spawn writes the tool's own
// rusage to a file for the runner.
func newSpawnCmd() *cobra.Command {
	o := &spawnOptions{}
	cmd := &cobra.Command{
		Use:    "spawn --rusage FILE -- PROGRAM [ARG…]",
		Short:  "Run a program and record its peak RSS and CPU time",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.argv = args
			return runSpawn(o)
		},
	}
	cmd.Flags().StringVar(&o.rusage, "rusage", "", "file to write the program's rusage to, as JSON")
	return cmd
}

func runSpawn(o *spawnOptions) error {
	if o.rusage == "" {
		return usage.Errorf("", "spawn needs --rusage")
	}
	c := exec.Command(o.argv[0], o.argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The tool dies with spawn (which the runner kills on interrupt).
	// Pdeathsig follows the thread that started the child, so keep one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runErr := c.Run()
	if c.ProcessState == nil {
		return fmt.Errorf("spawn %s: %w", o.argv[0], runErr)
	}
	var u resourceUse
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u = resourceUse{MaxRSSKiB: ru.Maxrss, UserNs: ru.Utime.Nano(), SysNs: ru.Stime.Nano()}
	}
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.rusage, b, 0o644); err != nil {
		return fmt.Errorf("spawn: %w", err)
	}
	var exitErr *exec.ExitError
	if errors.As(runErr, &exitErr) {
		return fmt.Errorf("%s: %w", o.argv[0], runErr)
	}
	return runErr
}
