package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/epilogue-dev/epilogue/internal/cli"
	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/telemetry"
)

// version is set at link time.
var version = "dev"

const usage = `Usage: epilogue-shim --listen unix:///PATH/docker.sock --journal DIR [flags]
       epilogue-shim version

A Docker Engine API interposer for an OpenWhisk invoker (DOCKER_HOST at it,
use-runc=false). Calls are forwarded to --docker; for containers running the
Epilogue runtime, a pause is deferred and a removal, kill or stop held until
the runtime reports its work done, never past the activation's deadline or
--max-linger. Only the endpoints an invoker uses are forwarded (--allow adds
more), and a container create may ask for no more than an invoker does: not
privileged, no host namespace, no added capability, device or mount
(--allow-create widens it).

Flags:
`

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if cli.IsVersion(args) {
		cli.PrintVersion(stdout, "epilogue-shim", version)
		return 0
	}
	cfg, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	tel, err := telemetry.Setup(ctx, "epilogue-shim")
	if err != nil {
		fmt.Fprintln(stderr, "epilogue-shim:", err)
		return 2
	}
	if tel.Enabled() {
		cfg.TracerProvider = tel.TracerProvider()
	}
	err = invokershim.Run(ctx, cfg)
	if serr := tel.Shutdown(context.WithoutCancel(ctx)); serr != nil {
		fmt.Fprintln(stderr, "epilogue-shim:", serr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "epilogue-shim:", err)
		return 1
	}
	return 0
}

func parse(args []string, stderr io.Writer) (invokershim.Config, error) {
	fs := cli.NewFlagSet("epilogue-shim", usage, stderr)
	var listen, allow, allowCreate, images repeated
	fs.Var(&listen, "listen", "where to serve the Docker API: unix:///PATH (mode 0660) or tcp://127.0.0.1:PORT; repeatable")
	docker := fs.String("docker", invokershim.DefaultDocker, "the real Docker daemon")
	journalDir := fs.String("journal", "", "the directory of the journal of deferred operations (required)")
	notifyKey := fs.String("notify-key", "", "a file holding the notify key (at least 32 bytes; read only, e.g. a mounted Secret); default: notify.key in the journal directory, created on first start")
	fs.Var(&allow, "allow", "also forward this endpoint, e.g. 'POST /containers/{id}/exec'; repeatable")
	fs.Var(&allowCreate, "allow-create", "let a container create ask for more than an invoker does: privileged, host-namespaces, cap-add=NAME, device=PATH, bind=DIR, volumes, security-opt=VALUE, or any; repeatable")
	fs.Var(&images, "runtime-image", "an image that runs the Epilogue runtime (default epilogue/action-go); repeatable")
	maxLinger := fs.Duration("max-linger", reclaim.DefaultMaxLinger, "the longest an activation's work may hold its container after the response, whatever its deadline")
	hold := fs.Duration("hold-timeout", invokershim.DefaultHoldTimeout, "the longest a removal, kill or stop holds the invoker's call (keep it below the invoker's 1 min docker timeout)")
	notify := fs.String("notify-listen", "", "host:port where runtimes push their events, reachable from the containers (e.g. the bridge's gateway, 172.17.0.1:7543); default: no push")
	notifyURL := fs.String("notify-url", "", "the base URL the containers push to (default http:// and --notify-listen)")
	metrics := fs.String("metrics-listen", "", "host:port where Prometheus scrapes "+invokershim.MetricsPath+" (e.g. :9464, or 127.0.0.1:9464 for this machine only); default: no metrics")
	verbose := fs.Bool("v", false, "log debug details")
	fs.Bool("version", false, "print the version (as does epilogue-shim version)")
	if err := fs.Parse(args); err != nil {
		return invokershim.Config{}, err
	}
	fail := func(msg string) (invokershim.Config, error) {
		return invokershim.Config{}, fs.Fail("%s", msg)
	}
	if fs.NArg() > 0 {
		return fail(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if len(listen) == 0 {
		return fail("--listen is required, e.g. --listen unix:///run/epilogue/docker.sock")
	}
	if *journalDir == "" {
		return fail("--journal DIR is required: deferred operations are journaled there")
	}
	var rules []invokershim.Rule
	for _, a := range allow {
		r, err := invokershim.ParseRule(a)
		if err != nil {
			return fail("--allow: " + err.Error())
		}
		rules = append(rules, r)
	}
	var policy invokershim.CreatePolicy
	for _, a := range allowCreate {
		if err := policy.ParseCreateRule(a); err != nil {
			return fail("--allow-create: " + err.Error())
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	return invokershim.Config{
		Listen: listen, Docker: *docker, JournalDir: *journalDir, NotifyKeyFile: *notifyKey, Allow: rules, CreatePolicy: policy, RuntimeImages: images,
		Bounds: reclaim.Bounds{MaxLinger: *maxLinger}, HoldTimeout: *hold,
		NotifyListen: *notify, NotifyURL: *notifyURL, MetricsListen: *metrics,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}, nil
}
