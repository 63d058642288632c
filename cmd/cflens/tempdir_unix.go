//go:build unix

package main

import (
	"errors"
	"syscall"
)

// processAlive tells whether a process with this ID exists. A process of
// another user answers EPERM: it exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
