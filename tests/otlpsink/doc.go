// Package otlpsink is a real OTLP/HTTP trace receiver on loopback for tests:
// it decodes every ExportTraceServiceRequest a process under test sends and
// hands the spans back flattened, with their service name, so a test can
// assert the tree an exporter actually put on the wire. It takes metrics
// too (ExportMetricsServiceRequest: the data points of sums and gauges).
package otlpsink
