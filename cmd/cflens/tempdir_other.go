//go:build !unix

package main

// processAlive tells whether a process with this ID may exist. Without
// a signal to probe it with, every process may: a stale run folder stays
// where it is rather than a live run's being removed.
func processAlive(pid int) bool { return true }
