package dataset

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// putLease writes a lease record of generation gen as another run would.
func putLease(t *testing.T, st Store, gen int64, h Holder) {
	t.Helper()
	if err := putJSON(context.Background(), st, leaseKey(gen), h); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseOneWriter(t *testing.T) {
	ctx := context.Background()
	st, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first, err := NewWriter(ctx, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewWriter(ctx, st, Options{})
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) {
		t.Fatalf("second NewWriter: %v, want a *BusyError wrapping ErrBusy", err)
	}
	host, _ := os.Hostname()
	if h := busy.Holder; h.PID != os.Getpid() || h.Host != host || h.RunID == "" || h.Started.IsZero() {
		t.Errorf("busy holder %+v: want this process on %s with a run id", h, host)
	}
	for _, want := range []string{busy.Holder.RunID, "pid " + strconv.Itoa(os.Getpid()), host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("busy message %q does not name %q", err, want)
		}
	}
	// A run that ends releases the lease: the next one need not wait.
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := NewWriter(ctx, st, Options{})
	if err != nil {
		t.Fatalf("NewWriter after the holder closed: %v", err)
	}
	if err := second.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Released leases leave no record.
	for ref, err := range st.List(ctx, leaseDir) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("lease record %s left after both runs closed", ref.Key)
	}
}

// TestLeaseExpiry: a lease left by a run on another host (one that was
// killed and never released it) holds until it expires, then the next
// run takes it over.
func TestLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	clock := &fakeClock{t: time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)}
	putLease(t, st, 7, Holder{Host: "other-host.invalid", PID: 4242, RunID: "deadbeef", Started: clock.now(),
		Renewed: clock.now(), Expires: clock.now().Add(time.Minute)})
	o := Options{Now: clock.now, LeaseTTL: time.Hour}
	_, err := NewWriter(ctx, st, o)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder.RunID != "deadbeef" || busy.Lease != leaseKey(7) {
		t.Fatalf("NewWriter before expiry: %v, want busy naming run deadbeef and %s", err, leaseKey(7))
	}
	clock.add(time.Minute) // the lease expires at this instant
	w, err := NewWriter(ctx, st, o)
	if err != nil {
		t.Fatalf("NewWriter after expiry: %v", err)
	}
	if _, ok := st.objs[leaseKey(8)]; !ok {
		t.Errorf("no lease of generation 8 after the takeover")
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLeaseOfDeadProcess: a lease whose holder ran on this host in a
// process that has ended is taken over at once.
func TestLeaseOfDeadProcess(t *testing.T) {
	ctx := context.Background()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	now := time.Now()
	st := newMemStore()
	putLease(t, st, 1, Holder{Host: host, PID: cmd.Process.Pid, RunID: "killed", Started: now, Renewed: now, Expires: now.Add(time.Hour)})
	w, err := NewWriter(ctx, st, Options{})
	if err != nil {
		t.Fatalf("NewWriter over a dead process's lease: %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The same record naming a live process (this one) holds.
	putLease(t, st, 3, Holder{Host: host, PID: os.Getpid(), RunID: "alive", Started: now, Renewed: now, Expires: now.Add(time.Hour)})
	if _, err := NewWriter(ctx, st, Options{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("NewWriter over a live process's lease: %v, want ErrBusy", err)
	}
}

// TestLeaseLostStopsCommits: a run whose lease ran out (it was not
// renewed in time) or was taken over writes no commit record.
func TestLeaseLostStopsCommits(t *testing.T) {
	for _, how := range []string{"expired", "taken over"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			st := newMemStore()
			clock := &fakeClock{t: time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)}
			// A TTL of an hour: the renewal ticker never fires in the test.
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			w, err := NewWriter(ctx, st, Options{Now: clock.now, LeaseTTL: time.Hour, Allocator: mem})
			if err != nil {
				t.Fatal(err)
			}
			switch how {
			case "expired":
				clock.add(time.Hour)
			case "taken over":
				putLease(t, st, 2, Holder{Host: "other-host.invalid", PID: 1, RunID: "next", Expires: clock.now().Add(time.Hour)})
				if err := w.lease.renew(ctx); !errors.Is(err, ErrLeaseLost) {
					t.Fatalf("renew after a takeover: %v, want ErrLeaseLost", err)
				}
			}
			obj := testObjects(t)[0]
			sink, err := w.Begin(ctx, obj.ref)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range parseLog(t, mem, obj.ref, obj.data) {
				if err := sink.Write(b); err != nil {
					t.Fatal(err)
				}
				b.Release()
			}
			if err := sink.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Close: %v, want ErrLeaseLost", err)
			}
			for _, k := range st.keys(commitSuffix) {
				if _, suffix, _ := journalName(k); suffix == commitSuffix {
					t.Errorf("commit record %s written without the lease", k)
				}
			}
			mem.AssertSize(t, 0)
		})
	}
}
