package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestShutdownFinishesSequences: a sequence whose first component is still
// running when the server is told to stop goes on to its next component
// before the pool closes, instead of recording the pool's refusal as its
// result. The component's answer is held at a gate until the server has
// stopped listening.
func TestShutdownFinishesSequences(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	gate := testenv.NewGate(t)
	s := startServer(t, standalone.BackendProcess, standalone.Config{DataDir: data})
	for _, name := range []string{"first", "second"} {
		r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/"+name+"?overwrite=false",
			`{"name":"`+name+`","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go"}}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
	}
	r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/chain?overwrite=false",
		`{"name":"chain","exec":{"kind":"sequence","components":["/_/first","/_/second"]}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = s.wsk(t, "POST", "/api/v1/namespaces/_/actions/chain", `{"quiet":true,"response_gate":"`+gate.URL("first")+`"}`)
	require.Equal(t, http.StatusAccepted, r.status, r.body)
	id := decodeMap(t, r.body)["activationId"].(string)
	gate.WaitArrived(t, "first", recordBound) // the first component is running

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.stop(t)
	}()
	require.Eventually(t, func() bool {
		resp, err := (&http.Client{Timeout: time.Second}).Get(s.url + "/ping")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	}, serverBound, pollGap, "the server kept listening after it was told to stop")
	gate.Open("first")
	select {
	case <-stopped:
	case <-time.After(serverBound + standalone.DefaultShutdownTimeout):
		t.Fatal("the server did not stop")
	}

	again := startServer(t, standalone.BackendProcess, standalone.Config{DataDir: data})
	got := again.wsk(t, "GET", "/api/v1/namespaces/_/activations/"+id, "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	var rec entity.Activation
	require.NoError(t, json.Unmarshal([]byte(got.body), &rec))
	assert.Equal(t, entity.StatusSuccess, rec.Response.Status, "%s", got.body)
	assert.Len(t, rec.Logs, 2, "both components ran: %s", got.body)
}
