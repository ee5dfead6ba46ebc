// Package activation owns the life of every activation inside one runtime:
// the state machine running → responded → done | expired | failed, the
// deadline that bounds lingering work, the waiters blocked on an activation
// or on quiescence, and the events each move produces. Nothing else sets a
// phase. It knows nothing about HTTP or processes: the proxy feeds it what the
// executable said and reads snapshots back.
package activation
