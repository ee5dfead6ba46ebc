package executor

import (
	"errors"
	"io"
	"math/bits"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// busyPoller is the fd 3 reader's source. Parked in the runtime's poller,
// the reader is woken by the kernel when the answer arrives, and on a
// virtual machine that wake-up of an idle CPU costs tens of microseconds:
// for a fast action, a large share of the whole exchange. So while an
// answer is due, the reader may instead keep reading the pipe for up to
// the budget (the action runs meanwhile on another CPU), as Linux's
// SO_BUSY_POLL does for sockets: CPU traded for latency.
//
// Between two reads of the empty pipe the spinner yields its CPU
// (sched_yield): when nothing else is runnable there it goes on at once,
// and when the action or the caller is queued on that CPU (more runnable
// threads than CPUs, as on a busy host or a two-CPU container) they run
// first, instead of waiting for the spin's budget to run out (a plain
// spin raised the p99: docs/performance.md).
//
// The trade is only worth it when answers do come within the budget, so
// the poller keeps the last eight outcomes (answered within the budget or
// not, whether it spun or slept) and spins only while most of them were
// in time: an action that turns slow costs at most three budgets, after
// which the reader sleeps as before, and it spins again once six answers
// in eight are fast.
type busyPoller struct {
	f      *os.File
	raw    syscall.RawConn
	budget int64 // nanoseconds; 0 = never spin

	// due is when the outstanding request was armed (UnixNano) if the
	// reader should spin for its answer; 0 = no answer is due, or the
	// reader should sleep.
	due atomic.Int64
	// armed is when the outstanding request was armed, spinning or not:
	// what answered measures against the budget.
	armed atomic.Int64
	// inTime holds the last eight outcomes, the newest in bit 0. Only the
	// reader's answered (or an exchange that gave up, whose answer never
	// came) writes it, one request at a time.
	inTime atomic.Uint32
	// emptyReads counts the reads that found the pipe empty and spun on,
	// which tests observe.
	emptyReads atomic.Uint64
	// stats counts how the spins ended, for the owner's metrics.
	stats *BusyPollStats
}

// BusyPollStats counts the fd 3 reader's spins while an answer is due:
// how many ended with data read (a wake-up saved) and how many ran out of
// budget and slept, and the time spent spinning (the CPU the trade costs).
// An owner that keeps one across processes passes it in
// Config.BusyPollStats; it is safe for concurrent use.
type BusyPollStats struct {
	caught, slept, spinNanos atomic.Uint64
}

// BusyPollCounts is a snapshot of BusyPollStats.
type BusyPollCounts struct {
	// Caught counts the spins that ended with data read: the answer, or
	// in the extended protocol a frame before it.
	Caught uint64
	// Slept counts the spins that ended without: the budget ran out or
	// the exchange gave up, and the reader slept in the poller.
	Slept uint64
	// Spinning is the time spent spinning, summed over both.
	Spinning time.Duration
}

// Counts returns the counts so far.
func (s *BusyPollStats) Counts() BusyPollCounts {
	return BusyPollCounts{
		Caught: s.caught.Load(), Slept: s.slept.Load(),
		Spinning: time.Duration(s.spinNanos.Load()),
	}
}

// spun records one spin that began at since (UnixNano) and ended at now,
// with data read (caught) or not.
func (s *BusyPollStats) spun(since, now int64, caught bool) {
	if caught {
		s.caught.Add(1)
	} else {
		s.slept.Add(1)
	}
	s.spinNanos.Add(uint64(now - since))
}

// spinWhen is how many of the last eight answers must have come within
// the budget for the next exchange to spin.
const spinWhen = 6

// aLongTimeAgo is a read deadline that has passed: setting it wakes the
// reader parked in the poller (net/http uses the same trick).
var aLongTimeAgo = time.Unix(1, 0)

// newBusyPoller reads f with the given budget, counting its spins in
// stats (nil = counted for nobody).
func newBusyPoller(f *os.File, budget time.Duration, stats *BusyPollStats) (*busyPoller, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	if stats == nil {
		stats = new(BusyPollStats)
	}
	return &busyPoller{f: f, raw: raw, budget: int64(budget), stats: stats}, nil
}

// arm is called by the exchange just before it writes a request. If
// recent answers were fast it makes the reader spin for this one, waking
// it from the poller where it sleeps between requests (with one P the
// reader runs once the exchange waits, after the write).
func (b *busyPoller) arm() {
	now := time.Now().UnixNano()
	b.armed.Store(now)
	if b.budget == 0 || bits.OnesCount8(uint8(b.inTime.Load())) < spinWhen {
		return
	}
	b.due.Store(now)
	_ = b.f.SetReadDeadline(aLongTimeAgo)
}

// answered is called by the reader when the answer has arrived: it stops
// the spin and records whether the answer came within the budget.
func (b *busyPoller) answered() {
	b.record(time.Now().UnixNano()-b.armed.Load() <= b.budget)
}

// gaveUp is called by an exchange that stopped waiting (deadline, exit):
// its answer never came, which counts as slow.
func (b *busyPoller) gaveUp() { b.record(false) }

func (b *busyPoller) record(inTime bool) {
	b.due.Store(0)
	if b.budget == 0 {
		return
	}
	bit := uint32(0)
	if inTime {
		bit = 1
	}
	b.inTime.Store(b.inTime.Load()<<1 | bit)
}

// Read reads fd 3, spinning on an empty pipe while an answer is due and
// the budget lasts, and sleeping in the poller otherwise.
func (b *busyPoller) Read(p []byte) (int, error) {
	for {
		var n int
		var rerr error
		var spinSince int64 // UnixNano; 0 = not spinning
		err := b.raw.Read(func(fd uintptr) bool {
			for {
				n, rerr = syscall.Read(int(fd), p)
				if rerr == syscall.EINTR {
					continue
				}
				if rerr != syscall.EAGAIN {
					if spinSince != 0 {
						b.stats.spun(spinSince, time.Now().UnixNano(), true)
					}
					return true
				}
				now := time.Now().UnixNano()
				due := b.due.Load()
				if due == 0 || now-due > b.budget {
					if spinSince != 0 {
						b.stats.spun(spinSince, now, false)
						spinSince = 0
					}
					return false // sleep until the pipe is readable
				}
				if spinSince == 0 {
					spinSince = now
				}
				b.emptyReads.Add(1)
				yieldCPU()
			}
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// arm's wake-up: clear it and read again, now spinning.
			_ = b.f.SetReadDeadline(time.Time{})
			continue
		}
		switch {
		case err != nil:
			return 0, err
		case rerr != nil:
			return 0, &os.PathError{Op: "read", Path: b.f.Name(), Err: rerr}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// yieldCPU lets another thread that is runnable on this CPU run first; it
// returns at once when there is none.
func yieldCPU() {
	_, _, _ = syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
}
