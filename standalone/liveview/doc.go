// Package liveview owns the live view of the standalone server's container
// pool: a page (plain HTML, CSS and JavaScript embedded in the binary, no
// external assets) that shows each container with its state and its latest
// activations on a timeline (response ▸ lingering ▸ done ▸ paused or
// removed), forced reclaims and failed post-response work highlighted, and
// the Server-Sent Events stream that keeps it current without a reload.
//
// The stream starts with the pool's whole timeline and then sends each
// container's timeline as it changes (pool.Subscribe). A client that falls
// behind is dropped by the pool and gets the whole timeline again. Streams
// are bounded: at most Config.MaxClients at once, a heartbeat every
// Config.Heartbeat, every write under Config.WriteTimeout, and Close ends
// them all (the server's shutdown does not wait for a page left open).
//
// It does not own the timelines (pool records them) or the server (the
// standalone package mounts Handler at ViewPath).
package liveview
