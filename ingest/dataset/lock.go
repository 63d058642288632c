package dataset

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A dataset has one writer at a time. The writer holds a lease: a small
// record under leaseDir, one object per generation, created with
// Store.PutIfAbsent (O_EXCL-like link on a folder, If-None-Match: * on
// S3), so that of the runs that race for a generation exactly one wins.
// The holder rewrites its record every LeaseTTL/3 with a later expiry and
// deletes it when it closes. A run finding the newest record live stops
// with a BusyError naming the holder; one finding it expired (a killed
// run), or none, creates the next generation. After creating
// its record a run lists the lease folder again and yields if a higher
// generation exists (it raced with a run that saw a newer state), so that
// generations only grow and the holder is the newest live record.
//
// A lease whose holder ran on this host under a process id that no
// longer exists (a killed run) is taken over at once rather than after
// it expires.
//
// A holder that cannot renew before its lease runs out, or that finds a
// higher generation, has lost the lease: it writes no further commit
// record. Safety assumes that the clocks of two writers' hosts differ by
// much less than LeaseTTL.
const leaseDir = metaDir + "/lease/"

// ErrBusy is wrapped by the error of NewWriter when another run holds
// the dataset's lease.
var ErrBusy = errors.New("dataset is being written by another run")

// ErrLeaseLost is wrapped by the error of a checkpoint that found the
// run's lease expired or taken over; the run's later rows are not
// committed.
var ErrLeaseLost = errors.New("lease of the dataset lost")

// Holder describes the run that holds or held a dataset's lease.
type Holder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	RunID   string    `json:"run_id"`
	// Renewed is when the holder last wrote the record; Expires is when
	// another run may take the lease over, unless renewed first.
	Renewed time.Time `json:"renewed"`
	Expires time.Time `json:"expires"`
}

// BusyError reports a dataset whose lease another run holds.
type BusyError struct {
	Lease  string // key of the lease record
	Holder Holder
}

func (e *BusyError) Error() string {
	h := e.Holder
	return fmt.Sprintf("%v: run %s (host %s, pid %d, started %s) holds %s until %s unless it renews it; wait for it to end, or, if it was killed, until the lease expires",
		ErrBusy, h.RunID, h.Host, h.PID, h.Started.UTC().Format(time.RFC3339), e.Lease, h.Expires.UTC().Format(time.RFC3339))
}

func (e *BusyError) Unwrap() error { return ErrBusy }

const leaseSuffix = ".lease"

func leaseKey(gen int64) string { return fmt.Sprintf("%s%020d%s", leaseDir, gen, leaseSuffix) }

// leaseGen parses the generation out of a lease key.
func leaseGen(key string) (int64, bool) {
	base, ok := strings.CutSuffix(path.Base(key), leaseSuffix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(base, 10, 64)
	return n, err == nil && n > 0
}

// lease is the run's hold on the dataset.
type lease struct {
	st     Store
	key    string
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu     sync.Mutex
	holder Holder
	// until is when the lease runs out by this run's clock: the start of
	// the last renewal that succeeded, plus ttl.
	until time.Time
	lost  error

	stop chan struct{}
	done chan struct{}
}

// newHolder describes this run.
func newHolder(now time.Time) Holder {
	host, _ := os.Hostname()
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	return Holder{Host: host, PID: os.Getpid(), Started: now.UTC(), RunID: hex.EncodeToString(rnd[:])}
}

// holderGone reports whether h ran on this host in a process that has
// ended. A process id reused since is taken as alive: the lease then
// waits for its expiry.
func holderGone(h Holder) bool {
	host, err := os.Hostname()
	if err != nil || host != h.Host || h.PID <= 0 {
		return false
	}
	return processGone(h.PID)
}

// newestLease returns the highest generation under leaseDir and its
// record; gen is 0 when there is none.
func newestLease(ctx context.Context, st Store) (gen int64, h Holder, gens []int64, err error) {
	for ref, err := range st.List(ctx, leaseDir) {
		if err != nil {
			return 0, Holder{}, nil, fmt.Errorf("list lease: %w", err)
		}
		if n, ok := leaseGen(ref.Key); ok {
			gens = append(gens, n)
			gen = max(gen, n)
		}
	}
	if gen == 0 {
		return 0, Holder{}, gens, nil
	}
	if err := getJSON(ctx, st, leaseKey(gen), &h); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Pruned by a newer holder between the list and the read.
			return newestLease(ctx, st)
		}
		return 0, Holder{}, nil, fmt.Errorf("read lease: %w", err)
	}
	return gen, h, gens, nil
}

// acquireLease takes the dataset's lease for this run and starts renewing
// it, or returns a *BusyError.
func acquireLease(ctx context.Context, st Store, ttl time.Duration, now func() time.Time, logger *slog.Logger) (*lease, error) {
	gen, cur, _, err := newestLease(ctx, st)
	if err != nil {
		return nil, err
	}
	t := now()
	if gen > 0 && t.Before(cur.Expires) && !holderGone(cur) {
		return nil, &BusyError{Lease: leaseKey(gen), Holder: cur}
	}
	l := &lease{st: st, key: leaseKey(gen + 1), ttl: ttl, now: now, logger: logger, holder: newHolder(t),
		stop: make(chan struct{}), done: make(chan struct{})}
	l.holder.Renewed, l.holder.Expires = t.UTC(), t.Add(ttl).UTC()
	b, err := json.Marshal(l.holder)
	if err != nil {
		return nil, err
	}
	if err := st.PutIfAbsent(ctx, l.key, bytes.NewReader(b), int64(len(b))); err != nil {
		if errors.Is(err, fs.ErrExist) {
			var h Holder
			if gerr := getJSON(ctx, st, l.key, &h); gerr != nil {
				return nil, fmt.Errorf("%w: another run created %s first", ErrBusy, l.key)
			}
			return nil, &BusyError{Lease: l.key, Holder: h}
		}
		return nil, fmt.Errorf("create lease: %w", err)
	}
	l.until = t.Add(ttl)
	// A run that listed an older state may have created a higher
	// generation meanwhile; the highest one wins.
	top, h, gens, err := newestLease(ctx, st)
	if err != nil {
		return nil, err
	}
	if top > gen+1 {
		return nil, &BusyError{Lease: leaseKey(top), Holder: h}
	}
	for _, g := range gens {
		if g < gen+1 {
			if err := st.Delete(ctx, leaseKey(g)); err != nil {
				logger.Warn("prune old lease", "err", err)
			}
		}
	}
	go l.renewLoop()
	return l, nil
}

// renewLoop renews the lease every ttl/3 until release.
func (l *lease) renewLoop() {
	defer close(l.done)
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		if err := l.renew(context.Background()); err != nil {
			l.logger.Warn("renew dataset lease", "err", err)
		}
	}
}

// renew writes the record with a later expiry, unless a higher generation
// exists (the lease was taken over) or it ran out.
func (l *lease) renew(ctx context.Context) error {
	if err := l.check(); err != nil {
		return err
	}
	top, h, _, err := newestLease(ctx, l.st)
	if err != nil {
		return err
	}
	if top > 0 && leaseKey(top) != l.key {
		l.setLost(fmt.Errorf("%w: run %s (host %s, pid %d) took it over as %s", ErrLeaseLost, h.RunID, h.Host, h.PID, leaseKey(top)))
		return l.check()
	}
	t := l.now()
	l.mu.Lock()
	rec := l.holder
	l.mu.Unlock()
	rec.Renewed, rec.Expires = t.UTC(), t.Add(l.ttl).UTC()
	if err := putJSON(ctx, l.st, l.key, rec); err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	l.mu.Lock()
	l.holder = rec
	if l.lost == nil {
		l.until = t.Add(l.ttl)
	}
	l.mu.Unlock()
	return nil
}

func (l *lease) setLost(err error) {
	l.mu.Lock()
	if l.lost == nil {
		l.lost = err
	}
	l.mu.Unlock()
}

// check returns an error wrapping ErrLeaseLost when the run may not write
// a commit record: its lease ran out by its own clock (with a margin of a
// tenth of the TTL for the commit to land) or was taken over.
func (l *lease) check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if !l.now().Before(l.until.Add(-l.ttl / 10)) {
		l.lost = fmt.Errorf("%w: not renewed since %s (lease %s)", ErrLeaseLost, l.holder.Renewed.Format(time.RFC3339), l.key)
		return l.lost
	}
	return nil
}

// release stops renewing and deletes the record, so that the next run
// need not wait for it to expire. Deleting needs no room, unlike a
// rewrite: a run stopped by a full disk still releases. A lease that ran
// out or was taken over is left alone: another run may hold the dataset.
func (l *lease) release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	if l.check() != nil {
		return nil
	}
	if err := l.st.Delete(ctx, l.key); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}
