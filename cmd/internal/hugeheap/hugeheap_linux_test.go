package hugeheap

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// vmFlags returns the VmFlags of the mapping of this process that holds
// address p, from /proc/self/smaps.
func vmFlags(t *testing.T, p uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = lo <= p && p < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("no mapping holds %#x", p)
	return nil
}

// TestAdvise checks that the heap grows into memory advised for huge
// pages ("hg" among the mapping's VmFlags), and that disablethp=1 in
// GODEBUG leaves it alone.
func TestAdvise(t *testing.T) {
	t.Run("disablethp", func(t *testing.T) {
		t.Setenv("GODEBUG", "madvdontneed=1, disablethp=1")
		if m, err := Advise(64 << 20); m != 0 || err != nil {
			t.Errorf("Advise with disablethp=1 = %d, %v; want 0, nil", m, err)
		}
	})
	t.Run("advised", func(t *testing.T) {
		if !wanted() {
			t.Skip("transparent huge pages are not in madvise mode here, or overcommit is strict: Advise does nothing")
		}
		t.Setenv("GODEBUG", "")
		const n = 64 << 20
		m, err := Advise(n)
		if err != nil {
			t.Fatal(err)
		}
		if m < n-hugePage || m%hugePage != 0 {
			t.Fatalf("advised %d bytes of %d, want whole huge pages, at most one fewer", m, n)
		}
		// A large allocation takes the lowest free run of pages that
		// fits: the region just handed back.
		b := make([]byte, 8<<20)
		// Its start may lie in the region's head, before the first
		// huge page boundary; its middle is past it.
		mid := &b[len(b)/2]
		*mid = 1
		flags := vmFlags(t, uintptr(unsafe.Pointer(mid)))
		if !slices.Contains(flags, "hg") {
			t.Errorf("VmFlags of the heap after Advise: %v, want hg among them", flags)
		}
	})
}
