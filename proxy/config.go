package proxy

import (
	"io"
	"net"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/completion"
)

// Version is the proxy's version, exported to actions as __OW_PROXY_VERSION.
// The build sets it with -ldflags.
var Version = "dev"

// Limits and defaults for Config's zero values.
const (
	DefaultListen = ":" + completion.RuntimePort
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
	// DefaultMaxAwaiters bounds the /epilogue/await calls waiting at once:
	// each holds a connection and a goroutine for up to MaxAwaitTimeout.
	DefaultMaxAwaiters = 1024
	// DefaultInitBodyTimeout bounds how long an /init body may take to
	// arrive once its headers have: generous for the ~64 MB of a 48 MB
	// action in base64 (about 1 MB/s), yet a client that stalls cannot keep
	// the request, its temporary file and its goroutine forever.
	DefaultInitBodyTimeout = time.Minute
	// DefaultBusyPoll is the busy-poll budget epilogue-proxy sets when it
	// has two CPUs or more (Config.BusyPoll): above the whole exchange of a
	// fast action (a JSON echo's p90 is about 150 µs on a slow virtual
	// machine), so that the spin usually ends with the answer.
	DefaultBusyPoll = 200 * time.Microsecond
	// DefaultRunBodyTimeout is the same for a /run body, at most
	// DefaultMaxRunBody (about 35 KB/s for the largest).
	DefaultRunBodyTimeout = 30 * time.Second
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
	// Semantics: "" = completion.Isolated.
	Semantics completion.Semantics
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
	// BusyPoll is how long, after handing the action a request, the proxy
	// may keep reading for the answer instead of sleeping until it comes:
	// CPU spent to save the wake-up, which on a virtual machine is a large
	// share of a fast action's exchange. It spins only while most recent
	// answers came within it, and only with a CPU to spare for the action,
	// so 0 (never) suits one CPU. See executor.Config.BusyPoll.
	BusyPoll time.Duration
	// CancelGrace: how long cancelled work may take to report; 0 = activation.DefaultCancelGrace.
	CancelGrace time.Duration
	// InitBodyTimeout and RunBodyTimeout bound how long the body of a POST
	// /init or /run may take to arrive after its headers; past it the
	// request gets upstream's 400 "Error reading request body: …".
	// 0 = DefaultInitBodyTimeout and DefaultRunBodyTimeout; negative = no bound.
	InitBodyTimeout, RunBodyTimeout time.Duration
	// MaxAwaiters bounds the GET /epilogue/await calls waiting at once; the
	// next ones get a 503. 0 = DefaultMaxAwaiters.
	MaxAwaiters int
	// DrainTimeout bounds the drain that follows the end of Run's or
	// Serve's ctx (a termination signal): 0 = until the latest pending
	// deadline plus the cancel grace.
	DrainTimeout time.Duration
	// StopDrain, when closed (a second signal), ends the drain at once.
	// nil = only the bound ends it.
	StopDrain <-chan struct{}
	// TracerProvider, when set, traces every activation (see trace.go and
	// docs/observability.md); nil = no tracing, at no cost on /run.
	TracerProvider trace.TracerProvider
	// MeterProvider, when set, exports the counters /epilogue/status
	// serves (completion.Counters) as OTLP metrics (metrics.go); nil = none.
	MeterProvider metric.MeterProvider
}

// withBoundDefaults fills in the zero body-read deadlines and await bound.
func (c Config) withBoundDefaults() Config {
	if c.InitBodyTimeout == 0 {
		c.InitBodyTimeout = DefaultInitBodyTimeout
	}
	if c.RunBodyTimeout == 0 {
		c.RunBodyTimeout = DefaultRunBodyTimeout
	}
	if c.MaxAwaiters <= 0 {
		c.MaxAwaiters = DefaultMaxAwaiters
	}
	return c
}
