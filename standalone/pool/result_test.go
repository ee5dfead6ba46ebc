package pool

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/epilogue-dev/epilogue/standalone/containerclient"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func reply(status int, body string) containerclient.Reply {
	return containerclient.Reply{StatusCode: status, Body: []byte(body), Length: int64(len(body))}
}

// TestRunResponse: ActivationResponse.processRunResponseContent.
func TestRunResponse(t *testing.T) {
	truncated := reply(http.StatusOK, `{"a":`)
	truncated.Length = 2_000_000
	tests := []struct {
		name       string
		r          containerclient.Reply
		status     entity.Status
		wantResult string
	}{
		{"object", reply(200, "{\"a\": 1}\n"), entity.StatusSuccess, `{"a":1}`},
		{"array", reply(200, `[1,2]`), entity.StatusSuccess, `[1,2]`},
		{"object with error", reply(200, `{"error":{"code":7}}`), entity.StatusApplicationError, `{"error":{"code":7}}`},
		{"non-200 with error", reply(502, `{"error":"command exited"}`), entity.StatusDeveloperError, `{"error":"command exited"}`},
		{"non-200 object without error", reply(500, `{"x":1}`), entity.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response: {\"x\":1}"}`},
		{"non-200 array", reply(500, `[1]`), entity.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response: [1]"}`},
		{"scalar", reply(200, `42`), entity.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response: 42"}`},
		{"not JSON", reply(200, `oops`), entity.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response: oops"}`},
		{"empty", reply(200, ``), entity.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response."}`},
		{"truncated", truncated, entity.StatusApplicationError, `{"error":"The action produced a response that exceeded the allowed length: 2000000 \u003e 5 bytes. The truncated response was: {\"a\":"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runResponse(tt.r)
			assert.Equal(t, tt.status, got.Status)
			assert.Equal(t, tt.status == entity.StatusSuccess, got.Success)
			assert.JSONEq(t, tt.wantResult, string(got.Result))
		})
	}
}

// TestInitResponse: ActivationResponse.processInitResponseContent.
func TestInitResponse(t *testing.T) {
	tests := []struct {
		name       string
		r          containerclient.Reply
		wantResult string
	}{
		{"error field", reply(403, `{"error":"Missing main/no code to execute."}`), `{"error":"Missing main/no code to execute."}`},
		{"no error field", reply(500, `{"x":1}`), `{"error":"The action failed during initialization: {\"x\":1}"}`},
		{"not JSON", reply(500, `boom`), `{"error":"The action failed during initialization: boom"}`},
		{"empty", reply(500, ``), `{"error":"The action failed during initialization."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := initResponse(tt.r)
			assert.Equal(t, entity.StatusDeveloperError, got.Status)
			assert.JSONEq(t, tt.wantResult, string(got.Result))
		})
	}
}

func TestStateMoves(t *testing.T) {
	// Every state but removed can be removed; nothing leaves removed; a
	// lingering container never takes work or pauses directly.
	for s := stateStarting; s < stateRemoved; s++ {
		if s != stateRemoving {
			assert.True(t, canMove(s, stateRemoving), "%s → removing", s)
		}
		assert.False(t, canMove(stateRemoved, s), "removed → %s", s)
	}
	assert.False(t, canMove(stateLingering, stateBusy))
	assert.False(t, canMove(stateLingering, statePausing))
	assert.False(t, canMove(stateBusy, statePausing))
	assert.True(t, canMove(statePaused, stateBusy))
	assert.Equal(t, "lingering", stateLingering.String())
	assert.Equal(t, "state(42)", state(42).String())
}
