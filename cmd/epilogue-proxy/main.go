package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/internal/cli"
	"github.com/epilogue-dev/epilogue/internal/sysmon"
	"github.com/epilogue-dev/epilogue/proxy"
	"github.com/epilogue-dev/epilogue/telemetry"
)

// settings are the environment variables the proxy reads, for -h: it is
// configured by its environment, as OpenWhisk starts it (the image's
// entrypoint, no arguments).
var settings = [][2]string{
	{completion.EnvListen, "host:port to listen on (default :" + completion.RuntimePort + ")"},
	{completion.EnvListenFD, "an inherited listening socket to serve on instead"},
	{completion.EnvSemantics, "isolated (default: a /run waits for earlier work) or overlap"},
	{completion.EnvNotifyURL, "where to push signed events (default: no push)"},
	{completion.EnvNotifyToken, "the HMAC-SHA256 key of the pushed events"},
	{completion.EnvInstance, "this runtime's name in status and events (default: the hostname)"},
	{completion.EnvActionDir, "where /init unpacks code (default ./action)"},
	{completion.EnvDrainTimeout, "bound of the drain after SIGTERM, e.g. 90s (default: latest pending deadline + cancel grace)"},
	{completion.EnvWaitForAck, "wait for the action's start-up ack (set in the image)"},
	{completion.EnvLogInitError, "also log an /init failure's message"},
	{completion.EnvExecutionEnv, "the execution environment an archive must be built for"},
	{"__OW_*", "passed to the action"},
	{telemetry.EnvEndpoint, "an OTLP collector: turns tracing and metrics on (also " + telemetry.EnvTracesEndpoint + ", " + telemetry.EnvMetricsEndpoint + ")"},
	{telemetry.EnvProtocol, telemetry.ProtocolHTTP + " (default) or " + telemetry.ProtocolGRPC},
	{telemetry.EnvServiceName, "the service name in traces (default epilogue-proxy); OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_METRIC_EXPORT_INTERVAL as usual"},
	{completion.EnvBusyPoll, "how long to poll for a fast action's answer instead of sleeping, e.g. 100us; 0 = never (default 200us when the container may use two CPUs or more, else 0)"},
	{completion.EnvSysmon, completion.SysmonPoll + " (default: the Go runtime's monitor thread polls between requests instead of sleeping deeply; the proxy re-executes itself with GODEBUG=schedtrace for it) or " + completion.SysmonSleep + " (the runtime's default)"},
	{"GOMAXPROCS", "processors the proxy uses (default 1)"},
}

func usage() string {
	var b strings.Builder
	b.WriteString(`Usage: epilogue-proxy
       epilogue-proxy version

The OpenWhisk action proxy of the epilogue/action-go image: serves /init and
/run on :8080 as upstream's ActionLoop proxy does, and tracks each
activation's work after its response (/epilogue/status, /epilogue/await).
On SIGTERM or SIGINT it drains: no new /init or /run (503), status and
await still answer, and it exits 0 once the pending work is done; a
second signal, or the drain's bound, cuts the work (recorded failed, exit 1).

Environment:
`)
	for _, s := range settings {
		fmt.Fprintf(&b, "  %-22s %s\n", s[0], s[1])
	}
	b.WriteString("\nFlags:\n")
	return b.String()
}

func main() {
	// Before anything else: it may re-execute the program.
	if err := sysmon.Poll(); err != nil && !errors.Is(err, sysmon.ErrReexec) {
		fmt.Fprintln(os.Stderr, "epilogue-proxy:", err)
		os.Exit(1)
	}
	args := os.Args[1:]
	if cli.IsVersion(args) {
		cli.PrintVersion(os.Stdout, "epilogue-proxy", proxy.Version)
		return
	}
	fs := cli.NewFlagSet("epilogue-proxy", usage(), os.Stderr)
	fs.Bool("version", false, "print the version (as does epilogue-proxy version)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		_ = fs.Fail("unexpected argument %q: the proxy is configured by its environment", fs.Arg(0))
		os.Exit(2)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// The proxy relays one activation at a time between the invoker's
		// connection and the action's pipes: it needs one processor, not
		// one per host CPU. With more, every hop between its goroutines
		// (connection, fd 3 reader, log relays) may wake another thread on
		// another CPU, and on a virtual machine a wake-up costs more than
		// the hop's work: make bench measured 1.2–1.5× the throughput
		// with one. GOMAXPROCS in the environment still decides.
		runtime.GOMAXPROCS(1)
	}
	cfg, err := configFromEnv(os.Environ(), cpuBudget(cgroupRoot, runtime.NumCPU()))
	var tel *telemetry.Telemetry
	if err == nil {
		tel, err = telemetry.Setup(context.Background(), "epilogue-proxy", telemetry.WithMetrics())
	}
	if err == nil {
		if tel.Enabled() {
			cfg.TracerProvider = tel.TracerProvider()
		}
		cfg.MeterProvider = tel.MeterProvider()
		ctx, stopDrain := drainOnSignal()
		cfg.StopDrain = stopDrain
		err = proxy.Run(ctx, cfg)
		// The drain's last spans go out before the process ends, within
		// the flush's bound.
		if serr := tel.Shutdown(context.Background()); serr != nil {
			fmt.Fprintln(os.Stderr, "epilogue-proxy:", serr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "epilogue-proxy:", err)
		os.Exit(1)
	}
}

// drainOnSignal returns a context that ends at the first SIGTERM or
// SIGINT (the proxy then drains) and a channel closed at the second (the
// drain ends at once): kubelet and docker stop send SIGTERM, and an
// operator who means it sends another.
func drainOnSignal() (context.Context, <-chan struct{}) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, drain := context.WithCancel(context.Background())
	stop := make(chan struct{})
	go func() {
		<-sigs
		drain()
		<-sigs
		close(stop)
	}()
	return ctx, stop
}

// maxBusyPoll bounds EPILOGUE_BUSY_POLL: an action slower than this is
// slow enough that the wake-up no longer matters, and a mistyped unit
// (200ms for 200us) should not burn a CPU per request.
const maxBusyPoll = 10 * time.Millisecond

// configFromEnv reads the proxy's settings; cpus is how many CPUs the
// container may keep busy (cpuBudget), which decides the busy-poll default.
func configFromEnv(environ []string, cpus float64) (proxy.Config, error) {
	env := map[string]string{}
	actionEnv := map[string]string{}
	for _, kv := range environ {
		// Split at the first '=' only: values may contain '=' (upstream cut them).
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		env[k] = v
		if strings.HasPrefix(k, "__OW_") {
			actionEnv[k] = v
		}
	}
	sem, err := completion.ParseSemantics(env[completion.EnvSemantics])
	if err != nil {
		return proxy.Config{}, err
	}
	var drain time.Duration
	if v := env[completion.EnvDrainTimeout]; v != "" {
		if drain, err = time.ParseDuration(v); err != nil || drain <= 0 {
			return proxy.Config{}, fmt.Errorf("%s=%q: want a positive Go duration such as 90s or 5m", completion.EnvDrainTimeout, v)
		}
	}
	// Polling for an answer needs a CPU to spare: on one, the spin would
	// only delay the action it waits for.
	busyPoll := time.Duration(0)
	if cpus >= 2 {
		busyPoll = proxy.DefaultBusyPoll
	}
	if v := env[completion.EnvBusyPoll]; v != "" {
		if busyPoll, err = time.ParseDuration(v); err != nil || busyPoll < 0 || busyPoll > maxBusyPoll {
			return proxy.Config{}, fmt.Errorf("%s=%q: want a Go duration from 0 (off) to 10ms, such as 100us", completion.EnvBusyPoll, v)
		}
	}
	var ln net.Listener
	if v := env[completion.EnvListenFD]; v != "" {
		if ln, err = inheritedListener(v); err != nil {
			return proxy.Config{}, err
		}
	}
	return proxy.Config{
		Listener:     ln,
		Listen:       env[completion.EnvListen],
		ActionDir:    env[completion.EnvActionDir],
		Semantics:    sem,
		WaitForAck:   env[completion.EnvWaitForAck] != "",
		LogInitError: env[completion.EnvLogInitError] != "",
		ExecutionEnv: env[completion.EnvExecutionEnv],
		ActionEnv:    actionEnv,
		NotifyURL:    env[completion.EnvNotifyURL],
		NotifyToken:  env[completion.EnvNotifyToken],
		Instance:     env[completion.EnvInstance],
		DrainTimeout: drain,
		BusyPoll:     busyPoll,
	}, nil
}

// inheritedListener turns an inherited listening socket into a listener. The
// listener holds a close-on-exec duplicate, so the original descriptor is
// closed and the action process never inherits it.
func inheritedListener(fdText string) (net.Listener, error) {
	fd, err := strconv.Atoi(fdText)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not an inherited descriptor number (3 or more)", completion.EnvListenFD, fdText)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("%s=%d is not a listening socket: %w", completion.EnvListenFD, fd, err)
	}
	return ln, nil
}
