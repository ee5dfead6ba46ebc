package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
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
	EnvMetricsExporter     = "OTEL_METRICS_EXPORTER"
	EnvEndpoint            = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint      = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvMetricsEndpoint     = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	EnvProtocol            = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol      = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvMetricsProtocol     = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
	EnvServiceName         = "OTEL_SERVICE_NAME"
	EnvResourceAttributes  = "OTEL_RESOURCE_ATTRIBUTES"
	ProtocolHTTP           = "http/protobuf"
	ProtocolGRPC           = "grpc"
	DefaultShutdownTimeout = 5 * time.Second
)

// Propagator is the one context propagator Epilogue speaks: W3C
// tracecontext, the traceparent header.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Telemetry is the process's tracing and metrics: the providers, and how
// to flush them.
type Telemetry struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when off
	meters   *sdkmetric.MeterProvider // nil when metrics are off
}

// Off is tracing and metrics switched off: no-op providers, nothing to flush.
func Off() *Telemetry { return &Telemetry{provider: noop.NewTracerProvider()} }

// Enabled reports whether spans are exported.
func (t *Telemetry) Enabled() bool { return t.sdk != nil }

// TracerProvider is the provider to create tracers from; a no-op one when off.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.provider }

// MetricsEnabled reports whether metrics are exported over OTLP.
func (t *Telemetry) MetricsEnabled() bool { return t.meters != nil }

// MeterProvider is the provider to create meters from, nil when metrics
// are off: callers then register no instrument at all.
func (t *Telemetry) MeterProvider() metric.MeterProvider {
	if t.meters == nil {
		return nil
	}
	return t.meters
}

// Shutdown exports the spans still buffered and stops the exporter, within
// ctx's bound (DefaultShutdownTimeout when ctx has none): a collector that
// does not answer cannot hold the process at exit.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.sdk == nil && t.meters == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownTimeout)
		defer cancel()
	}
	var errs []error
	if t.sdk != nil {
		if err := t.sdk.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: flushing the last spans: %w", err))
		}
	}
	if t.meters != nil {
		if err := t.meters.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: exporting the last metrics: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Config is what the environment asks for.
type Config struct {
	// Enabled: export spans.
	Enabled bool
	// Protocol is ProtocolHTTP or ProtocolGRPC.
	Protocol string
	// Metrics: export metrics over OTLP, with MetricsProtocol.
	Metrics         bool
	MetricsProtocol string
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
	var err error
	c.Enabled, c.Protocol, err = parseSignal(getenv, EnvTracesExporter, EnvTracesEndpoint, EnvTracesProtocol)
	if err != nil {
		return Config{}, err
	}
	c.Metrics, c.MetricsProtocol, err = parseSignal(getenv, EnvMetricsExporter, EnvMetricsEndpoint, EnvMetricsProtocol)
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseSignal reads whether one signal (traces or metrics) is exported and
// over which protocol: its own variables first, then the general ones.
func parseSignal(getenv func(string) string, exporterVar, endpointVar, protocolVar string) (bool, string, error) {
	exporter := strings.TrimSpace(getenv(exporterVar))
	switch exporter {
	case "", "otlp":
	case "none":
		return false, "", nil
	default:
		hint := ""
		if exporterVar == EnvMetricsExporter && exporter == "prometheus" {
			hint = " (Prometheus scrapes /metrics on the standalone server and epilogue-shim without it)"
		}
		return false, "", fmt.Errorf("telemetry: %s=%q is not supported: use otlp (with %s) or none%s", exporterVar, exporter, EnvEndpoint, hint)
	}
	enabled := false
	for _, name := range []string{endpointVar, EnvEndpoint} {
		if v := getenv(name); v != "" {
			if err := checkEndpoint(v); err != nil {
				return false, "", fmt.Errorf("telemetry: %s=%q: %v", name, v, err)
			}
			enabled = true
		}
	}
	// An explicit otlp exporter without an endpoint sends to the
	// specification's default, localhost.
	if !enabled && exporter != "otlp" {
		return false, "", nil
	}
	for _, name := range []string{protocolVar, EnvProtocol} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		if v != ProtocolHTTP && v != ProtocolGRPC {
			return false, "", fmt.Errorf("telemetry: %s=%q is not supported: use %s or %s", name, v, ProtocolHTTP, ProtocolGRPC)
		}
		return true, v, nil
	}
	return true, ProtocolHTTP, nil
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

// Option changes what Setup sets up.
type Option func(*options)

type options struct{ metrics bool }

// WithMetrics also sets up OTLP metrics, when the environment asks for
// them (MeterProvider). Only a binary with instruments of its own asks:
// the others would export nothing, and fail at exit against a collector
// that takes traces only.
func WithMetrics() Option { return func(o *options) { o.metrics = true } }

// Setup configures tracing (and, WithMetrics, metrics) from the process
// environment for the service named service (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override it); the exporters read their own
// variables from the same environment. Off unless configured: then it
// returns Off() and starts nothing.
func Setup(ctx context.Context, service string, opts ...Option) (*Telemetry, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c, err := ParseEnv(os.Getenv)
	c.Metrics = c.Metrics && o.metrics
	if err != nil || (!c.Enabled && !c.Metrics) {
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
	t := Off()
	if c.Enabled {
		var exp sdktrace.SpanExporter
		if c.Protocol == ProtocolGRPC {
			exp, err = otlptracegrpc.New(ctx)
		} else {
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return Off(), fmt.Errorf("telemetry: the OTLP %s trace exporter: %w", c.Protocol, err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		t.provider, t.sdk = tp, tp
	}
	if c.Metrics {
		var exp sdkmetric.Exporter
		if c.MetricsProtocol == ProtocolGRPC {
			exp, err = otlpmetricgrpc.New(ctx)
		} else {
			exp, err = otlpmetrichttp.New(ctx)
		}
		if err != nil {
			_ = t.Shutdown(ctx)
			return Off(), fmt.Errorf("telemetry: the OTLP %s metric exporter: %w", c.MetricsProtocol, err)
		}
		// The periodic reader reads OTEL_METRIC_EXPORT_INTERVAL (60 s by
		// default) and OTEL_METRIC_EXPORT_TIMEOUT itself.
		t.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
	}
	return t, nil
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
