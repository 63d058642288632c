package usage

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestErrorWrapsAndHints(t *testing.T) {
	err := fmt.Errorf("analyze: %w", Errorf("use --to", "--from %d is after --to", 5))
	var uerr *Error
	if !errors.As(err, &uerr) {
		t.Fatalf("%v is not an *Error", err)
	}
	if uerr.Hint != "use --to" || uerr.Error() != "--from 5 is after --to" {
		t.Errorf("hint %q, message %q", uerr.Hint, uerr.Error())
	}
	wrapped := &Error{Err: io.ErrUnexpectedEOF}
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Errorf("%v does not unwrap to its error", wrapped)
	}
}

func TestFlagErrorPointsAtHelp(t *testing.T) {
	root := &cobra.Command{Use: "cflens", SilenceErrors: true, SilenceUsage: true}
	sub := &cobra.Command{Use: "analyze", RunE: func(*cobra.Command, []string) error { return nil }}
	root.AddCommand(sub)
	root.SetFlagErrorFunc(FlagError)
	root.SetArgs([]string{"analyze", "--no-such-flag"})
	root.SetOut(io.Discard)
	err := root.Execute()
	var uerr *Error
	if !errors.As(err, &uerr) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	if !strings.Contains(uerr.Error(), "no-such-flag") || uerr.Hint != "run 'cflens analyze --help' for usage" {
		t.Errorf("message %q, hint %q", uerr.Error(), uerr.Hint)
	}
}
