package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestStandaloneKilledAndRestarted: an activation whose work is pending
// when the whole server is SIGKILLed (its runtimes die with it) is settled
// as failed, saying why, by the next server on the same data, instead of
// staying open forever; the response it gave is kept.
func TestStandaloneKilledAndRestarted(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildStatic(t, "./cmd/epilogue")
	proxy := testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	data := t.TempDir()
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	gate := testenv.NewGate(t)

	first := startBinary(t, bin, proxy, data)
	r := first.wsk(t, "PUT", "/api/v1/namespaces/_/actions/held?overwrite=false",
		`{"name":"held","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go"}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = first.wsk(t, "POST", "/api/v1/namespaces/_/actions/held?blocking=true",
		`{"linger_ms":1,"gate":"`+gate.URL("work")+`"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	id := decodeMap(t, r.body)["activationId"].(string)
	gate.WaitArrived(t, "work", recordBound) // the work is pending now
	before := first.wsk(t, "GET", "/api/v1/namespaces/_/activations/"+id, "")
	require.Equal(t, http.StatusOK, before.status, before.body)
	var rec entity.Activation
	require.NoError(t, json.Unmarshal([]byte(before.body), &rec))
	_, known := rec.Annotations.Get(entity.AnnotationCompletion)
	require.False(t, known, "the work is held, so its outcome is not known yet: %s", before.body)

	first.kill(t)
	gate.Open("work") // no runtime is left to pass it

	second := startBinary(t, bin, proxy, data)
	rec = second.finalRecord(t, id)
	c, _ := rec.Annotations.GetString(entity.AnnotationCompletion)
	assert.Equal(t, string(entity.CompletionFailed), c)
	errs, _ := rec.Annotations.Get(entity.AnnotationPostResponseErrors)
	assert.Contains(t, string(errs), "stopped (crashed or was killed)")
	assert.Equal(t, entity.StatusSuccess, rec.Response.Status, "the response the client got is kept")
}

// binaryServer is `epilogue standalone` run as its own process, so that a
// test can kill it.
type binaryServer struct {
	*server
	proc *testenv.Process
}

var standaloneURL = regexp.MustCompile(`OpenWhisk's API at (http://[^\s,]+)`)

// startBinary runs `epilogue standalone` on a free port over data, with the
// process backend, and waits for the URL it prints.
func startBinary(t *testing.T, bin, proxy, data string) *binaryServer {
	t.Helper()
	p := testenv.StartProcess(t, "epilogue standalone",
		exec.Command(bin, "standalone", "--port", "0", "--data", data, "--proxy", proxy, "--prewarm", "0"))
	deadline := time.After(serverBound)
	for {
		if m := standaloneURL.FindStringSubmatch(p.Output()); m != nil {
			return &binaryServer{server: &server{url: m[1], data: data, hc: &http.Client{Timeout: apiBound}}, proc: p}
		}
		select {
		case <-p.Exited:
			t.Fatalf("epilogue standalone exited before it served:\n%s", p.Output())
		case <-deadline:
			t.Fatalf("epilogue standalone did not print its URL within %s:\n%s", serverBound, p.Output())
		case <-time.After(pollGap):
		}
	}
}

// kill SIGKILLs the server and waits until it is gone.
func (b *binaryServer) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, b.proc.Cmd.Process.Kill())
	select {
	case <-b.proc.Exited:
	case <-time.After(serverBound):
		t.Fatal("epilogue standalone survived SIGKILL")
	}
}
