package pool

import (
	"slices"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/reclaim"
)

// Stats counts what the pool did since it started.
type Stats struct {
	ColdStarts    int64 `json:"coldStarts"`
	WarmStarts    int64 `json:"warmStarts"`
	PrewarmStarts int64 `json:"prewarmStarts"`
	// ActionPrewarms counts containers of an action the keep-alive policy
	// started (and ran /init in) ahead of a call it predicted; the call
	// that uses one counts as a warm start.
	ActionPrewarms int64 `json:"actionPrewarms"`
	// Queued counts activations that had to wait for a container.
	Queued   int64 `json:"queued"`
	Pauses   int64 `json:"pauses"`
	Unpauses int64 `json:"unpauses"`
	Removals int64 `json:"removals"`
	// Evictions counts removals to make room under the memory budget.
	Evictions int64 `json:"evictions"`
	// ForcedReclaims counts reclaims allowed only because a bound passed
	// while work was still pending.
	ForcedReclaims int64 `json:"forcedReclaims"`
}

// ContainerInfo describes one container of the pool.
type ContainerInfo struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Image    string `json:"image"`
	MemoryMB int    `json:"memoryMB"`
	// Action is "namespace/action" for a warm container, "" for a stem cell.
	Action   string    `json:"action,omitempty"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
	// Lingering lists the activations that answered with work pending.
	Lingering []string `json:"lingering,omitempty"`
	// Address is where its proxy serves, once created.
	Address string `json:"address,omitempty"`
	// ID is the backend's identifier, once created: the proxy's pid
	// (process) or the Docker container ID.
	ID string `json:"id,omitempty"`
}

// Snapshot is the pool's state at one moment.
type Snapshot struct {
	Policy     reclaim.Policy  `json:"semantics"`
	MemoryMB   int             `json:"memoryMB"`
	UsedMB     int             `json:"usedMB"`
	Waiting    int             `json:"waiting"`
	Containers []ContainerInfo `json:"containers"`
	Stats      Stats           `json:"stats"`
	// PauseLagsMs are the latest times (at most maxPauseLags, oldest
	// first) from a lingering activation's done to its container's pause,
	// pause grace included: how promptly the pool reclaims after done.
	PauseLagsMs []float64 `json:"pauseLagsMs,omitempty"`
}

// maxPauseLags bounds the pause lags a snapshot carries.
const maxPauseLags = 1024

// recordPauseLagLocked keeps one pause lag, dropping the oldest past
// maxPauseLags. p.mu must be held.
func (p *Pool) recordPauseLagLocked(d time.Duration) {
	if len(p.pauseLags) == maxPauseLags {
		p.pauseLags = p.pauseLags[1:]
	}
	p.pauseLags = append(p.pauseLags, float64(d.Microseconds())/1000)
	p.metrics.doneToPause.Observe(d.Seconds())
}

// Snapshot returns the pool's state, containers in name order.
func (p *Pool) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Policy: p.cfg.Policy, MemoryMB: p.cfg.MemoryMB, UsedMB: p.usedMB, Waiting: len(p.waiting), Stats: p.stats,
		Containers: []ContainerInfo{}, PauseLagsMs: slices.Clone(p.pauseLags)}
	for m := range p.members {
		info := ContainerInfo{Name: m.name, State: m.state.String(), Image: m.image, MemoryMB: m.memoryMB, LastUsed: m.lastUsed,
			Action: m.actionNameLocked()}
		for id := range m.lingering {
			info.Lingering = append(info.Lingering, id)
		}
		slices.Sort(info.Lingering)
		select {
		case <-m.created:
			if m.c != nil {
				info.Address, info.ID = m.c.Addr(), m.c.ID()
			}
		default:
		}
		s.Containers = append(s.Containers, info)
	}
	slices.SortFunc(s.Containers, func(a, b ContainerInfo) int { return strings.Compare(a.Name, b.Name) })
	return s
}
