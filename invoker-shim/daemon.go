package invokershim

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// daemon is the Docker daemon as the shim calls it itself: moby's typed
// calls, no more. The invoker's own calls do not go through it: they are
// forwarded as they came (Shim.proxy).
type daemon interface {
	operations // pause, kill, stop, remove: the deferred operations' calls
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	Ping(ctx context.Context) (types.Ping, error)
	NegotiateAPIVersionPing(types.Ping)
	Close() error
}

var _ daemon = (*client.Client)(nil)

// daemonPrefix starts the message of every error moby's client makes of a
// daemon's error answer.
const daemonPrefix = "Error response from daemon: "

// daemonAnswer is the HTTP status and message the daemon answered a typed
// call with, from err's class: what a held call relays to the invoker. An
// error that is not the daemon's (it did not answer) is a 500 that says
// so.
func daemonAnswer(err error) (int, string) {
	status := http.StatusInternalServerError
	switch {
	case cerrdefs.IsNotFound(err):
		status = http.StatusNotFound
	case cerrdefs.IsConflict(err):
		status = http.StatusConflict
	case cerrdefs.IsInvalidArgument(err):
		status = http.StatusBadRequest
	}
	msg, ok := strings.CutPrefix(err.Error(), daemonPrefix)
	if !ok {
		msg = "epilogue-shim: " + msg
	}
	return status, msg
}

// dockerError writes an error as the daemon does: {"message": …}, which
// the docker CLI prints after "Error response from daemon: ".
func dockerError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// statusWriter remembers the status of a forwarded answer, so that the
// shim learns from the daemon's answer what it did (a pause done, a
// container gone).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
