package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/internal/cli"
	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/api"
	"github.com/epilogue-dev/epilogue/standalone/liveview"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/standalone/store"
	"github.com/epilogue-dev/epilogue/telemetry"
)

const standaloneUsage = `Usage: epilogue standalone [flags]

Runs a single-machine OpenWhisk on 127.0.0.1:PORT that wsk and
openwhisk-client-go talk to unchanged, with OpenWhisk's container pool
(cold and warm starts, pause after the pause grace, removal when idle,
eviction under the memory budget, stem cells), and Epilogue's rule: under
--semantics epilogue no container is paused, evicted or removed while an
activation's work is still pending. GET /epilogue/pool shows the pool,
GET /metrics serves its metrics to Prometheus.

  epilogue standalone &
  wsk property set --apihost http://127.0.0.1:3233 --auth ` + api.GuestUUID + `:` + api.GuestKey + `
  wsk action create hello --docker epilogue/action-go hello.zip
  wsk action invoke hello -r
  wsk action create greet main.go --kind go:1.22   # Go source: compiled here with go

Flags:
`

// parseStandaloneArgs turns the command line into a Config.
func parseStandaloneArgs(args []string, stderr io.Writer) (standalone.Config, error) {
	fs := cli.NewFlagSet("epilogue standalone", standaloneUsage, stderr)
	port := fs.Int("port", standalone.DefaultPort, "the API's port on 127.0.0.1 (0: any free port, printed at start)")
	data := fs.String("data", standalone.DefaultDataDir(), "the directory of the database (actions and activations survive a restart)")
	backendName := fs.String("backend", standalone.BackendProcess, "where containers run: process (epilogue/action-go only, no Docker needed) or docker")
	semantics := fs.String("semantics", string(reclaim.Epilogue), "epilogue (never reclaim a container whose work is pending) or vanilla (stock OpenWhisk)")
	pauseGrace := fs.Duration("pause-grace", pool.DefaultPauseGrace, "how long an idle container stays unpaused (0: pause at once)")
	idle := fs.Duration("idle-timeout", pool.DefaultIdleTimeout, "how long a paused container lives")
	keepAliveName := fs.String("keepalive", "fixed", "the keep-alive policy of idle containers: "+strings.Join(keepalive.Names, ", ")+" (fixed: --idle-timeout after the pause, as OpenWhisk; the others measure idle time from the activation's done, prewarm an action's container ahead of a predicted call, and greedydual evicts by FaasCache's priority)")
	memory := fs.String("memory", strconv.Itoa(pool.DefaultMemoryMB)+"m", "the memory budget of all containers (e.g. 2048m, 2g)")
	prewarm := fs.Int("prewarm", 1, "how many stem cells of "+pool.DefaultPrewarmImage+" ("+strconv.Itoa(pool.DefaultPrewarmMemoryMB)+" MB) to keep ready")
	runtimeSemantics := fs.String("runtime-semantics", "", "the runtimes' EPILOGUE_SEMANTICS: isolated (a /run waits for earlier work) or overlap; default isolated under epilogue, overlap under vanilla (stock runtimes); vanilla with isolated is a stock invoker running the Epilogue runtime, as behind epilogue-shim")
	maxLinger := fs.Duration("max-linger", reclaim.DefaultMaxLinger, "the longest an activation's work may keep its container after the response, whatever its deadline")
	goBin := fs.String("go-bin", "", "the go command that compiles Go source actions (wsk action create NAME main.go --kind go:1.22; default: go in PATH)")
	proxy := fs.String("proxy", "", "the process backend's epilogue-proxy (default: next to this program, then in PATH)")
	network := fs.String("docker-network", "", "the docker backend's network (default bridge)")
	dockerHost := fs.String("docker-host", "", "the Docker engine of the docker backend, e.g. unix:///run/epilogue/docker.sock for an epilogue-shim in front of it (default DOCKER_HOST, else the local daemon)")
	prefix := fs.String("docker-prefix", "", "the docker backend's container name prefix (default wsk0_); containers with it that an earlier server left are removed at start")
	keep := fs.Int("keep-activations", standalone.DefaultKeepActivations, "the activation records kept per namespace, the newest (0: all)")
	keepFor := fs.Duration("keep-activations-for", 0, "delete activation records older than this, e.g. 168h (0: any age)")
	tasksRedis := fs.String("tasks-redis", "", "run the durable-task recoverer built in, on this task store (host:port or redis://...; the actions' "+durable.EnvRedis+")")
	tasksLease := fs.Duration("tasks-lease", durable.DefaultLease, "the built-in recoverer's lease (the actions' "+durable.EnvLease+")")
	keys := authKeys{api.GuestUUID: api.GuestKey}
	fs.Var(keys, "auth", "another UUID:KEY the API accepts besides the guest key (repeatable); its namespace is the UUID ("+api.SystemUUID+": whisk.system), as in wsk --auth")
	verbose := fs.Bool("v", false, "log every reclaim decision")
	if err := fs.Parse(args); err != nil {
		return standalone.Config{}, err
	}
	if fs.NArg() > 0 {
		return standalone.Config{}, fs.Fail("unexpected argument %q", fs.Arg(0))
	}
	policy, err := reclaim.ParsePolicy(*semantics)
	if err != nil {
		return standalone.Config{}, fs.Fail("--semantics: %v", err)
	}
	keepAlive, err := keepAlivePolicy(*keepAliveName, *idle)
	if err != nil {
		return standalone.Config{}, fs.Fail("--keepalive: %v", err)
	}
	mb, err := parseMemory(*memory)
	if err != nil {
		return standalone.Config{}, fs.Fail("--memory: %v", err)
	}
	switch {
	case *port < 0 || *port > 65535:
		return standalone.Config{}, fs.Fail("--port %d is not a port (1–65535, or 0 for any free one)", *port)
	case *pauseGrace < 0 || *idle <= 0 || *maxLinger <= 0:
		return standalone.Config{}, fs.Fail("--pause-grace must not be negative; --idle-timeout and --max-linger must be positive")
	case *tasksLease <= 0:
		return standalone.Config{}, fs.Fail("--tasks-lease must be positive")
	case *prewarm < 0:
		return standalone.Config{}, fs.Fail("--prewarm must not be negative")
	case *keep < 0 || *keepFor < 0:
		return standalone.Config{}, fs.Fail("--keep-activations and --keep-activations-for must not be negative (0 keeps everything)")
	case *runtimeSemantics != "" && completion.Semantics(*runtimeSemantics) != completion.Isolated && completion.Semantics(*runtimeSemantics) != completion.Overlap:
		return standalone.Config{}, fs.Fail("--runtime-semantics %q: use %s or %s", *runtimeSemantics, completion.Isolated, completion.Overlap)
	case *backendName != standalone.BackendProcess && *backendName != standalone.BackendDocker:
		return standalone.Config{}, fs.Fail("--backend %q: use %s or %s", *backendName, standalone.BackendProcess, standalone.BackendDocker)
	}
	if *tasksRedis != "" {
		if _, err := durable.Open(*tasksRedis); err != nil {
			return standalone.Config{}, fs.Fail("--tasks-redis: %v", err)
		}
	}
	grace := *pauseGrace
	if grace == 0 {
		grace = pool.Immediately
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	return standalone.Config{
		Port: *port, DataDir: *data, Backend: *backendName, ProxyPath: *proxy, GoBin: *goBin, Keys: keys,
		DockerNetwork: *network, DockerNamePrefix: *prefix, DockerHost: *dockerHost,
		Retention:  store.Retention{MaxPerNamespace: keepAll(*keep), MaxAge: *keepFor},
		TasksRedis: *tasksRedis, TasksLease: *tasksLease,
		Pool: pool.Config{
			Policy: policy, PauseGrace: grace, IdleTimeout: *idle, MemoryMB: mb, Prewarm: *prewarm, KeepAlive: keepAlive,
			Bounds: reclaim.Bounds{MaxLinger: *maxLinger}, RuntimeSemantics: completion.Semantics(*runtimeSemantics),
		},
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}, nil
}

// authKeys is --auth: the credentials the API accepts, uuid → key.
type authKeys map[string]string

func (k authKeys) String() string { return "" }

func (k authKeys) Set(s string) error {
	uuid, key, ok := strings.Cut(s, ":")
	switch {
	case !ok || uuid == "" || key == "":
		return fmt.Errorf("%q is not UUID:KEY (wsk's --auth form)", s)
	case uuid == api.GuestUUID:
		return fmt.Errorf("the guest uuid %s keeps its well-known key; give another uuid", uuid)
	}
	if _, dup := k[uuid]; dup {
		return fmt.Errorf("uuid %s is given twice", uuid)
	}
	k[uuid] = key
	return nil
}

// keepAlivePolicy is the pool's keep-alive policy named name: nil for
// fixed, so that the pool keeps OpenWhisk's own timers (--idle-timeout from
// the pause) exactly as without the flag. The others fall back to the idle
// timeout where they would use OpenWhisk's 10 minutes (histogram, while its
// histogram is not representative).
func keepAlivePolicy(name string, idle time.Duration) (keepalive.Policy, error) {
	policy, err := keepalive.NewWith(name, keepalive.Options{Standard: idle})
	if err != nil || policy.Name() == "fixed" {
		return nil, err
	}
	return policy, nil
}

// parseMemory reads "1024", "1024m", "1024MB" or "2g" as megabytes.
func parseMemory(s string) (int, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	mult := 1
	switch {
	case strings.HasSuffix(v, "mb"):
		v = strings.TrimSuffix(v, "mb")
	case strings.HasSuffix(v, "m"):
		v = strings.TrimSuffix(v, "m")
	case strings.HasSuffix(v, "gb"):
		v, mult = strings.TrimSuffix(v, "gb"), 1024
	case strings.HasSuffix(v, "g"):
		v, mult = strings.TrimSuffix(v, "g"), 1024
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, fmt.Errorf("%q is not a memory size: use megabytes such as 2048m, or 2g", s)
	}
	return n * mult, nil
}

func runStandalone(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseStandaloneArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if cfg.Port == 0 { // any free port (standalone.Config reads 0 as the default)
		ln, err := net.Listen("tcp", net.JoinHostPort(standalone.DefaultHost, "0"))
		if err != nil {
			fmt.Fprintln(stderr, "epilogue standalone: listen on a free port:", err)
			return exitError
		}
		cfg.Listener = ln
	}
	tel, err := telemetry.Setup(ctx, "epilogue-standalone")
	if err != nil {
		fmt.Fprintln(stderr, "epilogue standalone:", err)
		return exitUsage
	}
	defer func() {
		if err := tel.Shutdown(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintln(stderr, "epilogue standalone:", err)
		}
	}()
	if tel.Enabled() {
		cfg.Pool.TracerProvider = tel.TracerProvider()
		// The runtimes export to the same collector (the process backend's
		// share the host's network; a Docker container needs an endpoint
		// it can reach).
		cfg.Pool.RuntimeEnv = telemetry.ForwardEnv(os.Environ(), "epilogue-proxy")
	}
	cfg.Ready = func(url string) {
		fmt.Fprintf(stdout, "epilogue standalone: OpenWhisk's API at %s (backend %s, semantics %s, data %s)\n", url, backendOr(cfg.Backend), cfg.Pool.Policy, cfg.DataDir)
		fmt.Fprintf(stdout, "  wsk property set --apihost %s --auth %s:%s\n", url, api.GuestUUID, api.GuestKey)
		fmt.Fprintf(stdout, "  the pool, live: %s%s\n", url, liveview.ViewPath)
	}
	if err := standalone.Run(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "epilogue standalone:", err)
		return exitError
	}
	return exitOK
}

func backendOr(b string) string {
	if b == "" {
		return standalone.BackendProcess
	}
	return b
}

// keepAll maps the flag's 0 (keep everything) to Config's -1.
func keepAll(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
