package pool

import "fmt"

// state is where a pool container is in OpenWhisk's ContainerProxy
// lifecycle, with Epilogue's lingering added. Legal moves:
//
//	starting  → prewarmed | ready | busy | removing
//	prewarmed → busy | removing
//	busy      → lingering | ready | removing
//	lingering → ready | removing
//	ready     → busy | pausing | removing
//	pausing   → paused | removing
//	paused    → busy | removing
//	removing  → removed
//
// removed is terminal. starting → ready is a container of an action the
// keep-alive policy prewarmed: its /init done, waiting warm for a call. A container takes an activation only in prewarmed,
// ready or paused; lingering (answered, work pending) exists only under the
// epilogue policy, where such a container is neither given new work nor
// reclaimed.
type state int

const (
	stateStarting state = iota
	statePrewarmed
	stateBusy
	stateLingering
	stateReady
	statePausing
	statePaused
	stateRemoving
	stateRemoved
)

var stateNames = [...]string{
	stateStarting:  "starting",
	statePrewarmed: "prewarmed",
	stateBusy:      "busy",
	stateLingering: "lingering",
	stateReady:     "ready",
	statePausing:   "pausing",
	statePaused:    "paused",
	stateRemoving:  "removing",
	stateRemoved:   "removed",
}

func (s state) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

var legal = map[state][]state{
	stateStarting:  {statePrewarmed, stateReady, stateBusy, stateRemoving},
	statePrewarmed: {stateBusy, stateRemoving},
	stateBusy:      {stateLingering, stateReady, stateRemoving},
	stateLingering: {stateReady, stateRemoving},
	stateReady:     {stateBusy, statePausing, stateRemoving},
	statePausing:   {statePaused, stateRemoving},
	statePaused:    {stateBusy, stateRemoving},
	stateRemoving:  {stateRemoved},
}

// canMove reports whether from → to is a legal move.
func canMove(from, to state) bool {
	for _, s := range legal[from] {
		if s == to {
			return true
		}
	}
	return false
}
