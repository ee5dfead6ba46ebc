package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
	"go.opentelemetry.io/otel/trace"
)

// Defaults for Config's zero values: OpenWhisk's invoker defaults
// (the invoker's application.conf).
const (
	// DefaultPauseGrace is whisk.container-proxy.timeouts.pause-grace.
	DefaultPauseGrace = 10 * time.Second
	// DefaultIdleTimeout is whisk.container-proxy.timeouts.idle-container.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultMemoryMB is whisk.container-pool.user-memory.
	DefaultMemoryMB = 1024
	// DefaultPrewarmImage is the image of the stem cells: the runtime
	// Epilogue ships. A blackbox action of this image and of the stem cells'
	// memory starts on a stem cell.
	DefaultPrewarmImage = "epilogue/action-go:latest"
	// DefaultPrewarmMemoryMB is the stem cells' memory.
	DefaultPrewarmMemoryMB = 256
	// DefaultMaxQueueWait bounds how long an activation waits for a
	// container when the pool is full (OpenWhisk's run buffer has no bound).
	DefaultMaxQueueWait = 5 * time.Minute
	// DefaultShutdownWait bounds, in Close, the wait for running and
	// lingering activations when the caller's context has no deadline.
	DefaultShutdownWait = time.Minute
	// DefaultLateLogWindow is how long after an activation completed its
	// tagged log lines still reach its record.
	DefaultLateLogWindow = 10 * time.Second
)

// Immediately, as Config.PauseGrace, pauses a container as soon as it is
// idle (the command line's --pause-grace 0).
const Immediately time.Duration = -1

// Config configures a Pool. Zero values are the defaults above.
type Config struct {
	// Backend creates the containers. Required.
	Backend backend.Backend
	// Store receives every activation record. Required.
	Store *store.Store
	// Policy is how pause, removal and eviction treat pending work:
	// reclaim.Epilogue (""; wait for it, within Bounds) or reclaim.Vanilla
	// (stock OpenWhisk: ignore it).
	Policy reclaim.Policy
	// Bounds limit how long a reclaim waits for pending work.
	Bounds reclaim.Bounds
	// RuntimeSemantics is the runtimes' completion.EnvSemantics: whether a
	// /run may start while an earlier activation's work lingers. "" =
	// completion.Isolated under reclaim.Epilogue and completion.Overlap under
	// reclaim.Vanilla (stock runtimes run the next activation at once).
	// Vanilla with Isolated is a stock invoker running the Epilogue runtime,
	// as behind epilogue-shim.
	RuntimeSemantics completion.Semantics
	// PauseGrace is how long an idle container stays unpaused; 0 =
	// DefaultPauseGrace, Immediately (or any negative value) = no grace.
	PauseGrace time.Duration
	// IdleTimeout is how long a paused container lives; 0 = DefaultIdleTimeout.
	// KeepAlive, when set, decides instead.
	IdleTimeout time.Duration
	// KeepAlive, when set, decides how long an idle container of an action
	// lives (from its activation's done, not its pause), when a container
	// of an action is prewarmed ahead of a predicted call (its /init run,
	// never its handler), and which idle container is evicted under the
	// memory budget (keepalive.go). nil = OpenWhisk's fixed IdleTimeout
	// after the pause and least-recently-used eviction. The pool serialises
	// its calls; give each pool its own policy.
	KeepAlive keepalive.Policy
	// MemoryMB is the memory budget of all containers; 0 = DefaultMemoryMB.
	MemoryMB int
	// Prewarm is the number of stem cells kept ready; 0 = none.
	Prewarm int
	// PrewarmImage and PrewarmMemoryMB describe the stem cells; "" and 0 =
	// the defaults.
	PrewarmImage    string
	PrewarmMemoryMB int
	// MaxQueueWait bounds the wait for a container; 0 = DefaultMaxQueueWait.
	MaxQueueWait time.Duration
	// LateLogWindow is how long after an activation completed the lines
	// its untracked work still writes reach its record; 0 =
	// DefaultLateLogWindow. The window runs when a line is read, so a
	// slow log follower (Docker's, on a loaded machine) shortens it.
	LateLogWindow time.Duration
	// Logger receives the pool's decisions (reclaims, forced reclaims,
	// failures); nil = discard.
	Logger *slog.Logger
	// TracerProvider, when set, traces every invocation, container
	// operation and reclaim decision (trace.go); nil = no tracing.
	TracerProvider trace.TracerProvider
	// RuntimeEnv is added to every runtime's environment (e.g. the OTEL_*
	// variables that make the proxies export their spans too).
	RuntimeEnv map[string]string
	// Runtime runs the actions that are not a Docker image with its code
	// (Go source, wsk --native zips); nil = blackbox actions only.
	Runtime Runtime
}

// Runtime turns the actions whose exec names no image of their own into
// blackbox actions on the server's runtime image: OpenWhisk's runtime kinds
// (Go source, which it compiles) and wsk --native zips. The pool asks it
// before it looks for a container, so a compile is not counted against the
// action's /init timeout.
type Runtime interface {
	// Runs reports whether e is one of the execs it prepares.
	Runs(e entity.Exec) bool
	// Prepare returns the blackbox exec (image and /init code) that runs e.
	// When e's own code is at fault (it does not compile), developerError
	// is what the developer reads in the activation's result, as OpenWhisk
	// reports a failed /init; err is a failure of the platform's.
	Prepare(ctx context.Context, e entity.Exec) (prepared entity.Exec, developerError string, err error)
}

// ErrConfig is returned by New for an unusable Config.
var ErrConfig = errors.New("pool: invalid config")

// withDefaults checks cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.Backend == nil {
		errs = append(errs, errors.New("pool: Config.Backend is nil: create one with process.New or docker.New"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("pool: Config.Store is nil: open one with store.Open(dir)"))
	}
	policy, err := reclaim.ParsePolicy(string(cfg.Policy))
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Policy = policy
	switch {
	case cfg.RuntimeSemantics == "" && policy.WaitsForWork():
		cfg.RuntimeSemantics = completion.Isolated
	case cfg.RuntimeSemantics == "":
		cfg.RuntimeSemantics = completion.Overlap
	default:
		sem, err := completion.ParseSemantics(string(cfg.RuntimeSemantics))
		if err != nil {
			errs = append(errs, fmt.Errorf("pool: Config.RuntimeSemantics: %w", err))
		}
		cfg.RuntimeSemantics = sem
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"IdleTimeout", int64(cfg.IdleTimeout)}, {"MemoryMB", int64(cfg.MemoryMB)}, {"Prewarm", int64(cfg.Prewarm)},
		{"PrewarmMemoryMB", int64(cfg.PrewarmMemoryMB)}, {"MaxQueueWait", int64(cfg.MaxQueueWait)},
		{"LateLogWindow", int64(cfg.LateLogWindow)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("pool: Config.%s must not be negative; use 0 for the default", f.name))
		}
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	switch {
	case cfg.PauseGrace == 0:
		cfg.PauseGrace = DefaultPauseGrace
	case cfg.PauseGrace < 0:
		cfg.PauseGrace = 0
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.LateLogWindow == 0 {
		cfg.LateLogWindow = DefaultLateLogWindow
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.PrewarmImage == "" {
		cfg.PrewarmImage = DefaultPrewarmImage
	}
	if cfg.PrewarmMemoryMB == 0 {
		cfg.PrewarmMemoryMB = DefaultPrewarmMemoryMB
	}
	if cfg.MaxQueueWait == 0 {
		cfg.MaxQueueWait = DefaultMaxQueueWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
