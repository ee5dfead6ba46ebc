package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// The standard variables Setup reads (the OTLP exporters read the others
// they support, e.g. OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT, themselves).
const (
	EnvSDKDisabled         = "OTEL_SDK_DISABLED"
	EnvTracesExporter      = "OTEL_TRACES_EXPORTER"
	EnvEndpoint            = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint      = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol            = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol      = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvServiceName         = "OTEL_SERVICE_NAME"
	EnvResourceAttributes  = "OTEL_RESOURCE_ATTRIBUTES"
	ProtocolHTTP           = "http/protobuf"
	ProtocolGRPC           = "grpc"
	DefaultShutdownTimeout = 5 * time.Second
)

// Propagator is the one context propagator Epilogue speaks: W3C
// tracecontext, the traceparent header.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Telemetry is the process's tracing: a provider, and how to flush it.
type Telemetry struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when off
}

// Off is tracing switched off: a no-op provider, nothing to flush.
func Off() *Telemetry { return &Telemetry{provider: noop.NewTracerProvider()} }

// Enabled reports whether spans are exported.
func (t *Telemetry) Enabled() bool { return t.sdk != nil }

// TracerProvider is the provider to create tracers from; a no-op one when off.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.provider }

// Shutdown exports the spans still buffered and stops the exporter, within
// ctx's bound (DefaultShutdownTimeout when ctx has none): a collector that
// does not answer cannot hold the process at exit.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownTimeout)
		defer cancel()
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("telemetry: flushing the last spans: %w", err)
	}
	return nil
}

// Config is what the environment asks for.
type Config struct {
	// Enabled: export spans.
	Enabled bool
	// Protocol is ProtocolHTTP or ProtocolGRPC.
	Protocol string
}

// ParseEnv reads the standard variables (getenv is os.Getenv in a command).
// A value Epilogue cannot honour is an error naming the variable and what
// it accepts.
func ParseEnv(getenv func(string) string) (Config, error) {
	var c Config
	if v := strings.TrimSpace(getenv(EnvSDKDisabled)); v != "" {
		switch strings.ToLower(v) {
		case "true":
			return c, nil
		case "false":
		default:
			return c, fmt.Errorf("telemetry: %s=%q: use true or false", EnvSDKDisabled, v)
		}
	}
	exporter := strings.TrimSpace(getenv(EnvTracesExporter))
	switch exporter {
	case "", "otlp":
	case "none":
		return c, nil
	default:
		return c, fmt.Errorf("telemetry: %s=%q is not supported: use otlp (with %s) or none", EnvTracesExporter, exporter, EnvEndpoint)
	}
	for _, name := range []string{EnvTracesEndpoint, EnvEndpoint} {
		if v := getenv(name); v != "" {
			if err := checkEndpoint(v); err != nil {
				return c, fmt.Errorf("telemetry: %s=%q: %v", name, v, err)
			}
			c.Enabled = true
		}
	}
	// An explicit otlp exporter without an endpoint sends to the
	// specification's default, localhost.
	c.Enabled = c.Enabled || exporter == "otlp"
	if !c.Enabled {
		return c, nil
	}
	c.Protocol = ProtocolHTTP
	for _, name := range []string{EnvTracesProtocol, EnvProtocol} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		if v != ProtocolHTTP && v != ProtocolGRPC {
			return c, fmt.Errorf("telemetry: %s=%q is not supported: use %s or %s", name, v, ProtocolHTTP, ProtocolGRPC)
		}
		c.Protocol = v
		break
	}
	return c, nil
}

func checkEndpoint(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("not a URL: %v; use e.g. http://collector:4318", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("use a URL with scheme http or https and a host, e.g. http://collector:4318 (OTLP/HTTP) or http://collector:4317 (gRPC)")
	}
	return nil
}

// Setup configures tracing from the process environment for the service
// named service (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override
// it); the exporters read their own variables from the same environment.
// Off unless configured: then it returns Off() and starts nothing.
func Setup(ctx context.Context, service string) (*Telemetry, error) {
	c, err := ParseEnv(os.Getenv)
	if err != nil || !c.Enabled {
		return Off(), err
	}
	// Later options win: the environment overrides the default name.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return Off(), fmt.Errorf("telemetry: %s: %w (use key=value pairs separated by commas)", EnvResourceAttributes, err)
	}
	var exp sdktrace.SpanExporter
	if c.Protocol == ProtocolGRPC {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return Off(), fmt.Errorf("telemetry: the OTLP %s exporter: %w", c.Protocol, err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Telemetry{provider: tp, sdk: tp}, nil
}

// ForwardEnv is the part of environ (os.Environ()) that configures
// OpenTelemetry, for a process this one starts (a runtime), with the
// service renamed service: its spans then reach the same collector under
// their own name.
func ForwardEnv(environ []string, service string) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "OTEL_") {
			env[k] = v
		}
	}
	env[EnvServiceName] = service
	return env
}

// New wraps an SDK provider built elsewhere (tests, with an in-memory
// exporter).
func New(tp *sdktrace.TracerProvider) *Telemetry { return &Telemetry{provider: tp, sdk: tp} }
