package sdk

import (
	"bytes"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// goroutineInfo describes a goroutine found running without being tracked.
type goroutineInfo struct {
	id        uint64
	parent    uint64 // the goroutine that started it
	state     string // e.g. "sleep", "chan receive"
	createdBy string // the function that started it
	location  string // file:line of the go statement
	top       string // the function it is in now
}

func (g goroutineInfo) name() string {
	return fmt.Sprintf("untracked goroutine %d (started by %s)", g.id, g.createdBy)
}

func (g goroutineInfo) describe() string {
	return fmt.Sprintf("goroutine %d [%s] started by %s at %s, now in %s", g.id, g.state, g.createdBy, g.location, g.top)
}

// goroutineID returns the calling goroutine's id. Ids are never reused.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		id, _ := strconv.ParseUint(string(b[:i]), 10, 64)
		return id
	}
	return 0
}

// allStacks returns runtime.Stack for every goroutine, growing the buffer as needed.
func allStacks() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 16<<20 {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// parseStacks reads runtime.Stack(all) output.
func parseStacks(dump []byte) []goroutineInfo {
	var out []goroutineInfo
	for _, block := range strings.Split(string(dump), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "goroutine ") {
			continue
		}
		head := strings.TrimPrefix(lines[0], "goroutine ")
		idStr, rest, _ := strings.Cut(head, " ")
		id, err := strconv.ParseUint(idStr, 10, 64)
		if err != nil {
			continue
		}
		g := goroutineInfo{id: id, state: strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]:")}
		if i := strings.Index(g.state, ","); i > 0 {
			g.state = g.state[:i]
		}
		if len(lines) > 1 {
			g.top = funcName(lines[1])
		}
		for i, l := range lines {
			if c, ok := strings.CutPrefix(l, "created by "); ok {
				c, parent, _ := strings.Cut(c, " in goroutine ")
				g.createdBy = c
				g.parent, _ = strconv.ParseUint(parent, 10, 64)
				if i+1 < len(lines) {
					loc := strings.TrimSpace(lines[i+1])
					loc, _, _ = strings.Cut(loc, " +0x")
					g.location = loc
				}
			}
		}
		out = append(out, g)
	}
	return out
}

// funcName strips the arguments from a stack frame line.
func funcName(frame string) string {
	if i := strings.LastIndex(frame, "("); i > 0 {
		return frame[:i]
	}
	return frame
}

const sdkPackage = "github.com/epilogue-dev/epilogue/sdk."

// userCreated reports whether a goroutine was started by the action's own
// code (or a library it uses), as opposed to the runtime, the standard
// library (e.g. net/http's connection goroutines) or this package.
func userCreated(createdBy string, ignore []string) bool {
	if createdBy == "" || strings.HasPrefix(createdBy, sdkPackage) {
		return false
	}
	for _, p := range ignore {
		if strings.HasPrefix(createdBy, p) {
			return false
		}
	}
	if strings.HasPrefix(createdBy, "main.") {
		return true
	}
	// The package path ends at the first dot after the last slash; standard
	// library packages have no dot in their first path element.
	pkg := createdBy
	slash := strings.LastIndex(pkg, "/")
	if dot := strings.Index(pkg[slash+1:], "."); dot >= 0 {
		pkg = pkg[:slash+1+dot]
	}
	first, _, _ := strings.Cut(pkg, "/")
	return strings.Contains(first, ".")
}

// noticeUntracked records, at the response, the goroutines started during
// the activation (by the handler, by tracked work, or by goroutines they
// started) that are still running without being tracked. Goroutine ids are
// not handed out in order, so membership follows each goroutine's "created
// by ... in goroutine N" parent. A count check keeps the common case
// (nothing new) free of a stack dump.
func (l *loop) noticeUntracked(a *Activation) {
	if !l.extended || runtime.NumGoroutine()-int(l.sdkGoroutines.Load()) <= a.baseline {
		return
	}
	all := parseStacks(allStacks())
	a.mu.Lock()
	ours := maps.Clone(a.goids)
	a.mu.Unlock()
	var found []goroutineInfo
	for grew := true; grew; {
		grew = false
		for _, g := range all {
			// The SDK's own goroutines (the next stdin reader) belong to no
			// activation; its tracked work is in goids already.
			if ours[g.id] || !ours[g.parent] || strings.HasPrefix(g.createdBy, sdkPackage) {
				continue
			}
			ours[g.id], grew = true, true
			if userCreated(g.createdBy, l.o.ignore) {
				found = append(found, g)
			}
		}
	}
	if len(found) == 0 {
		return
	}
	descs := make([]string, len(found))
	for i, g := range found {
		descs[i] = g.describe()
	}
	a.logger.Warn("goroutines started during the activation are still running but not tracked; use sdk.Go so the platform waits for them",
		"goroutines", descs, "strict", l.o.strict)
	a.mu.Lock()
	a.untracked = found
	a.strictWait = l.o.strict
	a.mu.Unlock()
}

// watchUntracked (strict mode) polls until the untracked goroutines have
// exited, then lets the activation finish. The deadline bounds it.
func (l *loop) watchUntracked(a *Activation) {
	wait := 2 * time.Millisecond
	for {
		select {
		case <-a.finishedCh:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
		alive := map[uint64]bool{}
		for _, g := range parseStacks(allStacks()) {
			alive[g.id] = true
		}
		a.mu.Lock()
		var still []goroutineInfo
		for _, g := range a.untracked {
			if alive[g.id] {
				still = append(still, g)
			}
		}
		changed := len(still) != len(a.untracked)
		a.untracked = still
		if len(still) == 0 {
			a.strictWait = false
		} else if changed {
			a.reportPendingLocked()
		}
		a.mu.Unlock()
		if len(still) == 0 {
			a.maybeFinish()
			return
		}
	}
}
