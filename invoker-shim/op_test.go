package invokershim

import (
	"context"
	"fmt"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/reclaim"
)

// recorder is a daemon's typed operations: it records the calls it gets.
type recorder struct{ calls []string }

func (r *recorder) ContainerPause(_ context.Context, id string) error {
	r.calls = append(r.calls, "pause "+id)
	return nil
}

func (r *recorder) ContainerKill(_ context.Context, id, signal string) error {
	r.calls = append(r.calls, fmt.Sprintf("kill %s signal=%q", id, signal))
	return nil
}

func (r *recorder) ContainerStop(_ context.Context, id string, o container.StopOptions) error {
	t := "nil"
	if o.Timeout != nil {
		t = fmt.Sprint(*o.Timeout)
	}
	r.calls = append(r.calls, fmt.Sprintf("stop %s t=%s signal=%q", id, t, o.Signal))
	return nil
}

func (r *recorder) ContainerRemove(_ context.Context, id string, o container.RemoveOptions) error {
	r.calls = append(r.calls, fmt.Sprintf("remove %s force=%t v=%t link=%t", id, o.Force, o.RemoveVolumes, o.RemoveLinks))
	return nil
}

func TestOpReclaim(t *testing.T) {
	for _, tt := range []struct {
		name string
		op   operation
		want reclaim.Op
	}{
		{"a pause pauses", pauseOp, reclaim.Pause},
		{"a removal removes", removeOp, reclaim.Remove},
		{"a kill ends the runtime as a removal does", killOp, reclaim.Remove},
		{"a stop ends the runtime as a removal does", stopOp, reclaim.Remove},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.op.Reclaim())
		})
	}
}

func TestOpCall(t *testing.T) {
	for _, tt := range []struct {
		name    string
		op      operation
		query   string
		want    string // the call Send makes
		wantErr bool
	}{
		{"pause", pauseOp, "", "pause c1", false},
		{"rm -f, as the invoker's docker CLI sends it", removeOp, "force=1", "remove c1 force=true v=false link=false", false},
		{"rm -f -v --link", removeOp, "force=1&v=1&link=1", "remove c1 force=true v=true link=true", false},
		{"the daemon's false values", removeOp, "force=0&v=false&link=no", "remove c1 force=false v=false link=false", false},
		{"rm without options", removeOp, "", "remove c1 force=false v=false link=false", false},
		{"kill with the daemon's default signal", killOp, "", `kill c1 signal=""`, false},
		{"kill -s KILL", killOp, "signal=KILL", `kill c1 signal="KILL"`, false},
		{"stop with the default timeout", stopOp, "", `stop c1 t=nil signal=""`, false},
		{"stop -t 10 -s TERM", stopOp, "t=10&signal=TERM", `stop c1 t=10 signal="TERM"`, false},
		{"stop -t 0", stopOp, "t=0", `stop c1 t=0 signal=""`, false},
		{"stop's t is not a number", stopOp, "t=soon", "", true},
		{"a query that does not parse", removeOp, "force=%zz", "", true},
		{"an operation the journal does not know", operation("exec"), "", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			call, err := tt.op.Call(tt.query)
			if tt.wantErr {
				require.Error(t, err)
				assert.True(t, cerrdefs.IsInvalidArgument(err), "the daemon would answer 400: %v", err)
				return
			}
			require.NoError(t, err)
			var r recorder
			require.NoError(t, call.Send(context.Background(), &r, "c1"))
			assert.Equal(t, []string{tt.want}, r.calls)
		})
	}
}

// FuzzCall: the query comes from whoever reaches the shim's socket (and
// then from the journal). Call never panics; what it accepts, Send sends
// as exactly one call of the operation's kind.
func FuzzCall(f *testing.F) {
	for _, seed := range []struct{ op, query string }{
		{"remove", "force=1"}, {"kill", "signal=KILL"}, {"stop", "t=10&signal=TERM"}, {"pause", ""},
		{"stop", "t=-1"}, {"remove", "force=%zz"}, {"exec", ""},
	} {
		f.Add(seed.op, seed.query)
	}
	f.Fuzz(func(t *testing.T, op, query string) {
		call, err := operation(op).Call(query)
		if err != nil {
			require.True(t, cerrdefs.IsInvalidArgument(err))
			return
		}
		var r recorder
		require.NoError(t, call.Send(context.Background(), &r, "c"))
		require.Len(t, r.calls, 1)
		require.True(t, strings.HasPrefix(r.calls[0], op+" "), "%s sent %q", op, r.calls[0])
	})
}
