package invokershim

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/epilogue-dev/epilogue/reclaim"
)

// operation is an operation on a container that the shim may defer: the
// one name of it from the invoker's call (the route) to the journal line
// (journal.Entry.Op holds its name) and the Docker call that finally
// carries it out.
type operation string

// Operations.
const (
	pauseOp  operation = "pause"
	removeOp operation = "remove"
	killOp   operation = "kill"
	stopOp   operation = "stop"
)

// Reclaim is what the operation asks of the runtime's work: a pause, or a
// removal (kill and stop end the runtime as a removal does).
func (o operation) Reclaim() reclaim.Op {
	if o == pauseOp {
		return reclaim.Pause
	}
	return reclaim.Remove
}

// operations are the typed calls that carry out an operation; the daemon
// has them.
type operations interface {
	ContainerPause(ctx context.Context, id string) error
	ContainerKill(ctx context.Context, id, signal string) error
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
}

// dockerCall is the Docker call that carries out an operation, with the
// options the invoker asked for.
type dockerCall struct {
	Op operation
	// Remove: force, v and link of DELETE /containers/{id}.
	Remove container.RemoveOptions
	// Signal: kill's signal ("" = the container's stop signal, as the
	// daemon decides).
	Signal string
	// Stop: stop's t and signal.
	Stop container.StopOptions
}

// Call reads the operation's options from the query string of the
// invoker's call (journal.Entry.Query), as the daemon reads them. A query the
// daemon would refuse is an error (cerrdefs.ErrInvalidArgument), and so is
// an unknown operation.
func (o operation) Call(query string) (dockerCall, error) {
	q, err := url.ParseQuery(query)
	if err != nil {
		return dockerCall{}, fmt.Errorf("%w: %s %q: %w", cerrdefs.ErrInvalidArgument, o, query, err)
	}
	c := dockerCall{Op: o}
	switch o {
	case pauseOp:
	case removeOp:
		c.Remove = container.RemoveOptions{Force: boolValue(q, "force"), RemoveVolumes: boolValue(q, "v"), RemoveLinks: boolValue(q, "link")}
	case killOp:
		c.Signal = q.Get("signal")
	case stopOp:
		c.Stop.Signal = q.Get("signal")
		if t := q.Get("t"); t != "" {
			n, err := strconv.Atoi(t)
			if err != nil {
				return dockerCall{}, fmt.Errorf("%w: stop's t=%q is not a number of seconds", cerrdefs.ErrInvalidArgument, t)
			}
			c.Stop.Timeout = &n
		}
	default:
		return dockerCall{}, fmt.Errorf("%w: %q is not an operation (pause, remove, kill, stop)", cerrdefs.ErrInvalidArgument, string(o))
	}
	return c, nil
}

// boolValue reads a boolean query parameter as the daemon does: absent,
// "", "0", "no", "false" and "none" are false, anything else true.
func boolValue(q url.Values, k string) bool {
	switch strings.ToLower(strings.TrimSpace(q.Get(k))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// Send makes the call on container id through d's typed calls.
func (c dockerCall) Send(ctx context.Context, d operations, id string) error {
	switch c.Op {
	case pauseOp:
		return d.ContainerPause(ctx, id)
	case removeOp:
		return d.ContainerRemove(ctx, id, c.Remove)
	case killOp:
		return d.ContainerKill(ctx, id, c.Signal)
	case stopOp:
		return d.ContainerStop(ctx, id, c.Stop)
	}
	return fmt.Errorf("%w: %q is not an operation", cerrdefs.ErrInvalidArgument, string(c.Op))
}
