package proxy

import (
	"fmt"
	"io"
	"net"
	"time"
)

// Version is the proxy's version, exported to actions as __OW_PROXY_VERSION.
// The build sets it with -ldflags.
var Version = "dev"

// Semantics decides when a new /run may start.
type Semantics string

const (
	// Isolated (the default): a /run starts only when every earlier activation
	// is done, so leftover work can never interfere with the next event
	// (Theorem 5.2 of "This is not the End", arXiv 2211.02330).
	Isolated Semantics = "isolated"
	// Overlap: a /run may start while earlier activations linger.
	Overlap Semantics = "overlap"
)

// ParseSemantics accepts "isolated", "overlap" or "" (isolated).
func ParseSemantics(s string) (Semantics, error) {
	switch Semantics(s) {
	case "", Isolated:
		return Isolated, nil
	case Overlap:
		return Overlap, nil
	}
	return "", fmt.Errorf("proxy: unknown semantics %q: use %q or %q", s, Isolated, Overlap)
}

// Limits and defaults for Config's zero values.
const (
	DefaultListen = ":8080"
	// DefaultActionDir is where /init unpacks code, relative to the working
	// directory as upstream does (./action/N/bin/exec).
	DefaultActionDir = "action"
	// DefaultMaxInitBody: OpenWhisk's 48 MB code limit, base64-encoded, plus room.
	DefaultMaxInitBody = 80 << 20
	// DefaultMaxRunBody: OpenWhisk's 1 MiB payload limit plus room for the
	// context fields (activation id, deadline, API key...).
	DefaultMaxRunBody = 1<<20 + 64<<10
	// DefaultMaxResult caps a result line. OpenWhisk keeps only the first 1 MB
	// of a result, but truncation is the platform's job, so the proxy returns
	// larger results whole up to this bound.
	DefaultMaxResult = 32 << 20
	// DefaultTimeout is the deadline assumed for a /run without one: the
	// longest time limit OpenWhisk allows.
	DefaultTimeout = 5 * time.Minute
	// DefaultAwaitTimeout and MaxAwaitTimeout bound /epilogue/await.
	DefaultAwaitTimeout = time.Minute
	MaxAwaitTimeout     = 10 * time.Minute
)

// Config configures a Server. The zero value works and behaves like the
// upstream proxy started with no OW_* variables.
type Config struct {
	// Listen is the address for Run; "" = DefaultListen (OpenWhisk requires 8080).
	Listen string
	// Listener, if set, is what Run serves on instead of listening on Listen
	// (e.g. a socket handed over by the process that started the proxy).
	Listener net.Listener
	// ActionDir is where /init unpacks code; "" = DefaultActionDir.
	ActionDir string
	// Semantics: "" = Isolated.
	Semantics Semantics
	// WaitForAck (upstream OW_WAIT_FOR_ACK): wait for the executable's ack at
	// start. Required for the Epilogue extension.
	WaitForAck bool
	// LogInitError (upstream OW_LOG_INIT_ERROR): write init errors to stderr
	// followed by sentinels and answer with a generic message.
	LogInitError bool
	// ExecutionEnv (upstream OW_EXECUTION_ENV): require bin/exec.env to match.
	ExecutionEnv string
	// ActionEnv holds the proxy's own __OW_* variables, passed to the action
	// (e.g. __OW_API_HOST from docker run -e).
	ActionEnv map[string]string
	// NotifyURL and NotifyToken: where to push signed events; "" = no push.
	NotifyURL   string
	NotifyToken string
	// Instance names this runtime in status and events; "" = the hostname.
	Instance string
	// Stdout and Stderr are the proxy's log streams; nil = os.Stdout, os.Stderr.
	Stdout, Stderr io.Writer
	// Body and result caps; 0 = the defaults above.
	MaxInitBody, MaxRunBody int64
	MaxResult               int
	// DefaultTimeout: see the constant; 0 = the default.
	DefaultTimeout time.Duration
	// AckTimeout bounds the wait for the ack; 0 = executor.DefaultAckTimeout.
	AckTimeout time.Duration
	// CancelGrace: how long cancelled work may take to report; 0 = activation.DefaultCancelGrace.
	CancelGrace time.Duration
}
