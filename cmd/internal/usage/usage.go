// Package usage tells a mistake in a command line from other errors, so
// that a command can exit with status 2 and print a hint.
package usage

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Error is a mistake in the command line. Hint, if not empty, says what
// to do instead and is printed after the error.
type Error struct {
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the hint and the formatted message.
func Errorf(hint, format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...), Hint: hint}
}

// FlagError is a cobra flag error function: a bad flag is an *Error
// whose hint points at the command's --help.
func FlagError(c *cobra.Command, err error) error {
	return &Error{Err: err, Hint: "run '" + c.CommandPath() + " --help' for usage"}
}
