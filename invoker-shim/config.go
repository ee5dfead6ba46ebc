package invokershim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/reclaim"

	"go.opentelemetry.io/otel/trace"
)

// Defaults for Config's zero values.
const (
	// DefaultDocker is the real daemon.
	DefaultDocker = "unix:///var/run/docker.sock"
	// DefaultHoldTimeout bounds how long a removal, kill or stop holds the
	// invoker's call: safely below its docker CLI timeout of 1 minute.
	DefaultHoldTimeout = 50 * time.Second
	// DefaultSocketMode is the unix socket's mode: owner and group only.
	DefaultSocketMode os.FileMode = 0o660
	// EventsPath is where runtimes push their events.
	EventsPath = "/epilogue/events"
)

// DefaultRuntimeImages name the images that run the Epilogue runtime (any
// tag or digest).
var DefaultRuntimeImages = []string{"epilogue/action-go"}

// Labels and environment the shim puts on the runtime containers it sees
// created.
const (
	// LabelInstance names the container's runtime in its events; the
	// shim derives the container's notify token from it.
	LabelInstance = "dev.epilogue.shim.instance"
	// LabelRuntime marks a container of any image as an Epilogue runtime
	// (set it on the image or the container).
	LabelRuntime = "dev.epilogue.runtime"
)

// Config configures the shim. Zero values are the defaults.
type Config struct {
	// Listen are the addresses to serve the Docker API on:
	// "unix:///PATH" (created with SocketMode) or "tcp://127.0.0.1:PORT"
	// (loopback only). At least one.
	Listen []string
	// Docker is the real daemon: "unix:///PATH" or "tcp://HOST:PORT";
	// "" = DefaultDocker.
	Docker string
	// JournalDir holds the journal of deferred operations and, unless
	// NotifyKeyFile names another, the key the notify tokens derive from
	// (created there on first start). Required.
	JournalDir string
	// NotifyKeyFile, if set, holds the notify key (at least MinNotifyKey
	// bytes), e.g. a Kubernetes Secret mounted read-only. The shim only
	// reads it: a key it does not accept is an error, never replaced.
	NotifyKeyFile string
	// Allow adds endpoints to DefaultRules.
	Allow []Rule
	// CreatePolicy says which container settings a create may ask for;
	// the zero value allows what an OpenWhisk invoker asks for, no more.
	CreatePolicy CreatePolicy
	// RuntimeImages: "" = DefaultRuntimeImages. Containers of these images,
	// or labelled LabelRuntime, are Epilogue runtimes.
	RuntimeImages []string
	// Bounds limit how long a reclaim waits (MaxLinger caps any deadline).
	Bounds reclaim.Bounds
	// HoldTimeout: 0 = DefaultHoldTimeout.
	HoldTimeout time.Duration
	// NotifyListen is host:port for the runtimes' pushed events, reachable
	// from the containers (e.g. the bridge's gateway address); "" = no push
	// (the shim then relies on /epilogue/await and status).
	NotifyListen string
	// NotifyURL is the base URL the containers are told to push to; "" =
	// http:// and NotifyListen's address.
	NotifyURL string
	// MetricsListen is host:port where Prometheus scrapes MetricsPath;
	// "" = no metrics server.
	MetricsListen string
	// SocketMode: 0 = DefaultSocketMode.
	SocketMode os.FileMode
	// Logger: nil = discard.
	Logger *slog.Logger
	// TracerProvider, when set, traces the intercepted calls and the
	// deferred and forced reclaims (trace.go); nil = no tracing.
	TracerProvider trace.TracerProvider
	// Ready, if set, is called once every listener serves.
	Ready func()
}

// ErrConfig is returned for an unusable Config.
var ErrConfig = errors.New("invokershim: invalid config")

// endpoint is a parsed "unix://" or "tcp://" address.
type endpoint struct {
	network, address string
}

func (e endpoint) String() string {
	if e.network == "unix" {
		return "unix://" + e.address
	}
	return "tcp://" + e.address
}

// parseEndpoint reads unix:///PATH or tcp://HOST:PORT.
func parseEndpoint(s string) (endpoint, error) {
	u, err := url.Parse(s)
	if err != nil {
		return endpoint{}, fmt.Errorf("%q is not an address: %w", s, err)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return endpoint{}, fmt.Errorf("%q names no socket path: write unix:///path/to/docker.sock", s)
		}
		return endpoint{"unix", u.Path}, nil
	case "tcp":
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return endpoint{}, fmt.Errorf("%q: %w; write tcp://127.0.0.1:2375", s, err)
		}
		return endpoint{"tcp", u.Host}, nil
	}
	return endpoint{}, fmt.Errorf("%q: use unix:///path or tcp://host:port", s)
}

func (cfg Config) withDefaults() (Config, []endpoint, endpoint, error) {
	var errs []error
	if len(cfg.Listen) == 0 {
		errs = append(errs, errors.New("no --listen address: give unix:///PATH/docker.sock"))
	}
	var listen []endpoint
	for _, l := range cfg.Listen {
		e, err := parseEndpoint(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("--listen %w", err))
			continue
		}
		if e.network == "tcp" {
			host, _, _ := net.SplitHostPort(e.address)
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				errs = append(errs, fmt.Errorf("--listen %s: a TCP listener must be on loopback (127.0.0.1): the Docker API must not be reachable from the network", l))
				continue
			}
		}
		listen = append(listen, e)
	}
	if cfg.Docker == "" {
		cfg.Docker = DefaultDocker
	}
	docker, err := parseEndpoint(cfg.Docker)
	if err != nil {
		errs = append(errs, fmt.Errorf("--docker %w", err))
	}
	for _, e := range listen {
		if e == docker {
			errs = append(errs, fmt.Errorf("--listen %s is the daemon's own address: the shim must listen elsewhere", e))
		}
	}
	if cfg.JournalDir == "" {
		errs = append(errs, errors.New("no --journal DIR: the shim journals deferred operations there"))
	}
	if len(errs) > 0 {
		return cfg, nil, endpoint{}, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	if len(cfg.RuntimeImages) == 0 {
		cfg.RuntimeImages = DefaultRuntimeImages
	}
	if cfg.HoldTimeout <= 0 {
		cfg.HoldTimeout = DefaultHoldTimeout
	}
	if cfg.SocketMode == 0 {
		cfg.SocketMode = DefaultSocketMode
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Bounds = cfg.Bounds.WithDefaults()
	return cfg, listen, docker, nil
}

// isRuntimeImage reports whether ref is one of images, with any tag or
// digest, optionally on docker.io.
func isRuntimeImage(ref string, images []string) bool {
	name := ref
	if at := strings.IndexByte(name, '@'); at >= 0 {
		name = name[:at]
	}
	if colon := strings.LastIndexByte(name, ':'); colon > strings.LastIndexByte(name, '/') {
		name = name[:colon]
	}
	name = strings.TrimPrefix(strings.TrimPrefix(name, "docker.io/"), "library/")
	for _, img := range images {
		if name == img {
			return true
		}
	}
	return false
}
