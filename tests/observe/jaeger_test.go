package observe

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// Bounds of the observe tests: far above a busy machine's delays, and none
// waited out when the tests pass.
const (
	startBound = 2 * time.Minute // a process is up (Jaeger, the standalone)
	traceBound = 90 * time.Second
	pollGap    = 100 * time.Millisecond
)

// jaegerConfig is the all-in-one's configuration, shared with `make
// observe`: in-memory storage, every port on loopback, from the environment.
var jaegerConfig = filepath.Join("..", "..", "tools", "jaeger", "jaeger.yaml")

// jaeger is one Jaeger all-in-one on loopback.
type jaeger struct {
	otlp  string // the OTLP/HTTP endpoint, for OTEL_EXPORTER_OTLP_ENDPOINT
	query string // the query API and UI
}

// startJaeger runs bin/jaeger with jaegerConfig on free loopback ports and
// returns once both its query API and its OTLP receiver answer; it is
// stopped when the test ends.
func startJaeger(t *testing.T) *jaeger {
	t.Helper()
	bin := testenv.RequireJaeger(t)
	ports := freePorts(t, 4)
	cmd := exec.Command(bin, "--config", jaegerConfig)
	cmd.Env = append(os.Environ(), fmt.Sprintf("JAEGER_QUERY_PORT=%d", ports[0]), fmt.Sprintf("JAEGER_QUERY_GRPC_PORT=%d", ports[1]),
		fmt.Sprintf("JAEGER_OTLP_HTTP_PORT=%d", ports[2]), fmt.Sprintf("JAEGER_OTLP_GRPC_PORT=%d", ports[3]))
	p := testenv.StartProcess(t, "jaeger", cmd)
	j := &jaeger{otlp: fmt.Sprintf("http://127.0.0.1:%d", ports[2]), query: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
	waitFor(t, p, startBound, "Jaeger's query API and OTLP receiver answer", func() bool {
		resp, err := http.Get(j.query + "/api/services")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(j.otlp, "http://"), time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return resp.StatusCode == http.StatusOK
	})
	return j
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close() // held until all are chosen, so they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// waitFor polls cond until it holds; it fails the test, with p's output,
// if p exits first or bound passes.
func waitFor(t *testing.T, p *testenv.Process, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		select {
		case <-p.Exited:
			t.Fatalf("%s exited before %s. Its output:\n%s", p.Name, what, p.Output())
		case <-time.After(pollGap):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s. %s's output:\n%s", bound, what, p.Name, p.Output())
		}
	}
}
