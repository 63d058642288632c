// Package hugeheap asks Linux to back the Go heap with transparent huge
// pages.
//
// Where transparent huge pages are enabled only for memory that asks for
// them (/sys/kernel/mm/transparent_hugepage/enabled set to madvise, the
// default of many distributions), the Go runtime asks for them only for
// its own metadata, and every 4 KiB page of the heap costs a page fault
// the first time it is touched. In a virtual machine a fault is dear: on
// the 2-core VM of the README's figures, 12 µs each, so that touching 64
// MiB took 190 ms in 4 KiB pages and 4 ms in 2 MiB pages. An analysis of
// a million rows from Parquet touches about 100 MiB, and its faults were
// a third of its CPU time.
//
// Advise grows the heap by a region, advises huge pages on it, and hands
// it back to the runtime, which fills the heap from the lowest addresses
// first: the heap then grows into the advised region.
package hugeheap

import (
	"os"
	"strings"
)

// hugePage is the size of a transparent huge page on amd64 and arm64
// with 4 KiB base pages.
const hugePage = 2 << 20

// Disabled tells whether GODEBUG turns transparent huge pages off for the
// heap (disablethp=1, the runtime's own setting), in which case Advise
// does nothing.
func Disabled() bool {
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if strings.TrimSpace(kv) == "disablethp=1" {
			return true
		}
	}
	return false
}
