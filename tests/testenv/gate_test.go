package testenv

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gateBound bounds every wait of these tests; none waits it out when they pass.
const gateBound = time.Minute

// get sends a GET to url and delivers its status (or -1 on an error).
func get(url string) <-chan int {
	out := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), gateBound)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		out <- resp.StatusCode
	}()
	return out
}

func TestGateHoldsUntilOpen(t *testing.T) {
	g := NewGate(t)
	first := get(g.URL("write"))
	g.WaitArrived(t, "write", gateBound)
	g.Mark("response")
	select {
	case s := <-first:
		t.Fatalf("the gate answered %d before it was opened", s)
	default:
	}
	other := get(g.URL("other"))
	g.WaitArrived(t, "other", gateBound)

	g.Open("write")
	g.Open("write") // idempotent
	select {
	case s := <-first:
		assert.Equal(t, http.StatusOK, s)
	case <-time.After(gateBound):
		t.Fatal("the opened gate did not answer")
	}
	// Once open, a gate lets later requests straight through.
	select {
	case s := <-get(g.URL("write")):
		assert.Equal(t, http.StatusOK, s)
	case <-time.After(gateBound):
		t.Fatal("the open gate held a later request")
	}
	assert.Equal(t, 2, g.Arrivals("write"))
	assert.Equal(t, 1, g.Arrivals("other"))
	assert.Zero(t, g.Arrivals("never"))
	assert.Equal(t, []string{"arrive write", "response", "arrive other", "open write", "arrive write"}, g.Events())
	select {
	case s := <-other:
		t.Fatalf("opening one gate opened another: %d", s)
	default:
	}
}

// TestGateReleasedAtEnd: a request still held when the test ends gets 503,
// so an action blocked on it is not left hanging.
func TestGateReleasedAtEnd(t *testing.T) {
	var held <-chan int
	t.Run("holder", func(t *testing.T) {
		g := NewGate(t)
		held = get(g.URL("never-opened"))
		g.WaitArrived(t, "never-opened", gateBound)
	})
	select {
	case s := <-held:
		assert.Equal(t, http.StatusServiceUnavailable, s)
	case <-time.After(gateBound):
		t.Fatal("the held request outlived its test")
	}
}

func TestGateBadPath(t *testing.T) {
	g := NewGate(t)
	require.Equal(t, http.StatusBadRequest, <-get(g.URL("")))
}
