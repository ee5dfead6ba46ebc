package telemetry_test

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/telemetry"
	"github.com/epilogue-dev/epilogue/tests/otlpsink"
)

func TestParseEnv(t *testing.T) {
	const http, grpc = telemetry.ProtocolHTTP, telemetry.ProtocolGRPC
	both := telemetry.Config{Enabled: true, Protocol: http, Metrics: true, MetricsProtocol: http}
	tests := []struct {
		name     string
		env      map[string]string
		want     telemetry.Config
		errNames string // the variable the error must name
	}{
		{name: "nothing set: off", env: nil, want: telemetry.Config{}},
		{name: "endpoint: traces and metrics over http", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, want: both},
		{name: "traces endpoint and grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: telemetry.Config{Enabled: true, Protocol: grpc}},
		{name: "traces protocol beats the general one", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: telemetry.Config{Enabled: true, Protocol: http, Metrics: true, MetricsProtocol: grpc}},
		{name: "otlp exporter without endpoint: the default endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			want: telemetry.Config{Enabled: true, Protocol: http}},
		{name: "exporter none wins over an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
			want: telemetry.Config{Metrics: true, MetricsProtocol: http}},
		{name: "metrics endpoint: metrics only", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
			want: telemetry.Config{Metrics: true, MetricsProtocol: grpc}},
		{name: "metrics exporter none", env: map[string]string{"OTEL_METRICS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
			want: telemetry.Config{Enabled: true, Protocol: http}},
		{name: "metrics exporter otlp without endpoint", env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp"},
			want: telemetry.Config{Metrics: true, MetricsProtocol: http}},
		{name: "sdk disabled wins", env: map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}},
		{name: "sdk disabled false", env: map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, want: both},
		{name: "bad disabled", env: map[string]string{"OTEL_SDK_DISABLED": "yes"}, errNames: "OTEL_SDK_DISABLED"},
		{name: "unsupported exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, errNames: "OTEL_TRACES_EXPORTER"},
		{name: "prometheus metrics exporter: scrape /metrics instead", env: map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"}, errNames: "OTEL_METRICS_EXPORTER"},
		{name: "unsupported protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
			errNames: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "unsupported metrics protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"},
			errNames: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"},
		{name: "endpoint without scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"},
			errNames: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{name: "metrics endpoint without scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "collector:4318"},
			errNames: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := telemetry.ParseEnv(func(k string) string { return tt.env[k] })
			if tt.errNames != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errNames)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// Off starts nothing: no exporter goroutine may outlive a process that
// never asked for tracing.
func TestSetupOffStartsNothing(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_METRICS_EXPORTER"} {
		t.Setenv(k, "")
	}
	before := runtime.NumGoroutine()
	tel, err := telemetry.Setup(context.Background(), "svc", telemetry.WithMetrics())
	require.NoError(t, err)
	assert.False(t, tel.Enabled())
	assert.False(t, tel.MetricsEnabled())
	assert.Nil(t, tel.MeterProvider(), "no instrument is registered when metrics are off")
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "x")
	assert.False(t, span.IsRecording())
	span.End()
	assert.Equal(t, before, runtime.NumGoroutine())
	require.NoError(t, tel.Shutdown(context.Background()))
}

func TestSetupBadEnvNamesTheVariable(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "novalue")
	_, err := telemetry.Setup(context.Background(), "svc")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OTEL_RESOURCE_ATTRIBUTES")
}

// The environment alone turns export on, names the service and reaches a
// real OTLP/HTTP receiver; Shutdown flushes what is buffered.
func TestSetupExportsOverHTTP(t *testing.T) {
	sink := otlpsink.New()
	defer sink.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.URL)
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
	tel, err := telemetry.Setup(context.Background(), "default-name", telemetry.WithMetrics())
	require.NoError(t, err)
	require.True(t, tel.Enabled())
	require.True(t, tel.MetricsEnabled())
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "one")
	span.End()
	counter, err := tel.MeterProvider().Meter("t").Int64Counter("epilogue.test")
	require.NoError(t, err)
	counter.Add(context.Background(), 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, tel.Shutdown(ctx))
	spans := sink.Spans()
	require.Len(t, spans, 1)
	assert.Equal(t, "one", spans[0].Name)
	assert.Equal(t, "from-env", spans[0].Service)
	points := sink.Points()
	require.Len(t, points, 1, "the last metrics are exported at shutdown")
	assert.Equal(t, "epilogue.test", points[0].Name)
	assert.Equal(t, "from-env", points[0].Service)
	assert.Equal(t, 3.0, points[0].Value)
}

// Without WithMetrics, the endpoint turns on traces only: a binary without
// instruments exports no metrics.
func TestSetupWithoutMetricsOption(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	tel, err := telemetry.Setup(context.Background(), "svc")
	require.NoError(t, err)
	assert.True(t, tel.Enabled())
	assert.False(t, tel.MetricsEnabled())
	assert.Nil(t, tel.MeterProvider())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = tel.Shutdown(ctx) // nothing buffered: no export is attempted
}

// A collector that never answers cannot hold the process at exit.
func TestShutdownIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() { // accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	tel, err := telemetry.Setup(context.Background(), "svc", telemetry.WithMetrics())
	require.NoError(t, err)
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "lost")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tel.Shutdown(ctx) }()
	select {
	case err := <-done:
		assert.Error(t, err, "the flush could not have reached the collector")
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown ignored its bound")
	}
}
