package actionloop

import (
	"encoding/json"
	"testing"
)

// The hot functions of every activation, on both sides of the pipes: what
// `go test -bench . ./actionloop` and benchstat compare across changes.

var (
	benchBody  = []byte(`{"value":{"name":"bench","quiet":true},"activation_id":"0123456789abcdef0123456789abcdef","namespace":"guest","action_name":"/guest/hello","action_version":"0.0.1","transaction_id":"t","deadline":"1700000060000"}`)
	benchFrame = Frame{Kind: KindResponse, Seq: 42, Done: true, Result: json.RawMessage(`{"name":"bench","quiet":true}`)}
)

func BenchmarkParseRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRequestLine(b *testing.B) {
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = AppendRequestLine(buf[:0], benchBody, 42, "")
	}
}

func BenchmarkParseMessage(b *testing.B) {
	line := AppendRequestLine(nil, benchBody, 42, "")
	line = line[:len(line)-1]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = AppendFrame(buf[:0], benchFrame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFrame(b *testing.B) {
	line, _ := AppendLine(nil, benchFrame)
	line = line[:len(line)-1]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFrame(line); err != nil {
			b.Fatal(err)
		}
	}
}
