package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
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
	cmd    *exec.Cmd
	exited chan struct{}
}

var standaloneURL = regexp.MustCompile(`OpenWhisk's API at (http://\S+)`)

// startBinary runs `epilogue standalone` on a free port over data, with the
// process backend, and waits for the URL it prints.
func startBinary(t *testing.T, bin, proxy, data string) *binaryServer {
	t.Helper()
	cmd := exec.Command(bin, "standalone", "--port", "0", "--data", data, "--proxy", proxy, "--prewarm", "0")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	// Its log goes to a file the test prints when it fails (a writer
	// that called t.Log could outlive the test).
	logFile, err := os.CreateTemp(t.TempDir(), "standalone-*.log")
	require.NoError(t, err)
	cmd.Stderr = logFile
	require.NoError(t, cmd.Start())
	b := &binaryServer{cmd: cmd, exited: make(chan struct{})}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("epilogue standalone's log:\n%s", log)
		}
		_ = logFile.Close()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := standaloneURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- strings.TrimRight(m[1], ","):
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(serverBound):
			_ = cmd.Process.Kill()
			t.Errorf("epilogue standalone did not stop after SIGTERM within %s", serverBound)
		}
	})
	select {
	case u := <-urls:
		b.server = &server{url: u, data: data, hc: &http.Client{Timeout: apiBound}}
	case <-b.exited:
		t.Fatal("epilogue standalone exited before it served")
	case <-time.After(serverBound):
		t.Fatalf("epilogue standalone did not print its URL within %s", serverBound)
	}
	return b
}

// kill SIGKILLs the server and waits until it is gone.
func (b *binaryServer) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, b.cmd.Process.Kill())
	select {
	case <-b.exited:
	case <-time.After(serverBound):
		t.Fatal("epilogue standalone survived SIGKILL")
	}
}
