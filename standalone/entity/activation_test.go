package entity

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

func sampleActivation() Activation {
	a := Activation{
		Namespace: "guest", Name: "hello", Version: "0.0.1", Subject: "guest",
		ActivationID: "f1e2d3c4b5a697881a2b3c4d5e6f7a8b",
		Start:        1700000000000, End: 1700000000042, Duration: 42,
		Response: NewResponse(StatusSuccess, json.RawMessage(`{"accepted":true}`)),
		Logs:     []string{"2026-01-01T00:00:00.000Z stdout: hi"},
	}
	_ = a.Annotations.SetJSON(AnnotationPath, "guest/hello")
	_ = a.Annotations.SetJSON(AnnotationKind, "blackbox")
	_ = a.Annotations.SetJSON(AnnotationLimits, DefaultLimits())
	_ = a.Annotations.SetJSON(AnnotationTimeout, false)
	_ = a.Annotations.SetJSON(AnnotationWaitTime, 3)
	_ = a.Annotations.SetJSON(AnnotationInitTime, 12)
	_ = a.Annotations.SetJSON(AnnotationCompletion, CompletionDone)
	_ = a.Annotations.SetJSON(AnnotationPostResponseDuration, 1502)
	_ = a.Annotations.SetJSON(AnnotationPostResponseErrors, []string{})
	return a
}

// toExtendedJson: statusCode is not in response, size is
// not sent, end is omitted until the activation ended.
func TestActivationMarshal(t *testing.T) {
	b, err := json.Marshal(sampleActivation())
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"namespace":"guest","name":"hello","version":"0.0.1","subject":"guest",
		"activationId":"f1e2d3c4b5a697881a2b3c4d5e6f7a8b",
		"start":1700000000000,"end":1700000000042,"duration":42,
		"response":{"status":"success","success":true,"result":{"accepted":true}},
		"logs":["2026-01-01T00:00:00.000Z stdout: hi"],
		"annotations":[
			{"key":"path","value":"guest/hello"},
			{"key":"kind","value":"blackbox"},
			{"key":"limits","value":{"timeout":60000,"memory":256,"logs":10,"concurrency":1}},
			{"key":"timeout","value":false},
			{"key":"waitTime","value":3},
			{"key":"initTime","value":12},
			{"key":"completion","value":"done"},
			{"key":"postResponseDuration","value":1502},
			{"key":"postResponseErrors","value":[]}],
		"publish":false}`, string(b))

	running := Activation{Namespace: "guest", Name: "hello", ActivationID: "x", Start: 5}
	b, err = json.Marshal(running)
	require.NoError(t, err)
	assert.JSONEq(t, `{"namespace":"guest","name":"hello","version":"","subject":"","activationId":"x","start":5,"duration":0,
		"response":{"status":"","success":false},"logs":[],"annotations":[],"publish":false}`, string(b))
}

// The fields client-go's Activation (whisk/activation.go) and the wsk
// activation commands read.
func TestActivationDecodesInClientGo(t *testing.T) {
	type cgResponse struct {
		Status     string          `json:"status"`
		StatusCode int             `json:"statusCode"`
		Success    bool            `json:"success"`
		Result     *map[string]any `json:"result,omitempty"`
	}
	type cgKeyValue struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
	type cgActivation struct {
		Namespace    string       `json:"namespace"`
		Name         string       `json:"name"`
		Version      string       `json:"version"`
		Subject      string       `json:"subject"`
		ActivationID string       `json:"activationId"`
		Cause        string       `json:"cause,omitempty"`
		Start        int64        `json:"start"`
		End          int64        `json:"end"`
		Duration     int64        `json:"duration"`
		StatusCode   int          `json:"statusCode"`
		Response     cgResponse   `json:"response"`
		Logs         []string     `json:"logs"`
		Annotations  []cgKeyValue `json:"annotations"`
		Publish      *bool        `json:"publish"`
	}
	tests := []struct {
		name       string
		status     Status
		result     string
		wantCode   int
		wantResult map[string]any
	}{
		{"success", StatusSuccess, `{"accepted":true}`, 0, map[string]any{"accepted": true}},
		{"application error", StatusApplicationError, `{"error":"boom"}`, 1, map[string]any{"error": "boom"}},
		{"developer error", StatusDeveloperError, `{"error":"The action did not produce a valid response and exited unexpectedly."}`, 2, map[string]any{"error": "The action did not produce a valid response and exited unexpectedly."}},
		{"whisk error", StatusWhiskError, `{"error":"no container"}`, 3, map[string]any{"error": "no container"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleActivation()
			a.Response = NewResponse(tt.status, json.RawMessage(tt.result))
			assert.Equal(t, tt.wantCode, a.Response.StatusCode())
			b, err := json.Marshal(a)
			require.NoError(t, err)
			var cg cgActivation
			require.NoError(t, json.Unmarshal(b, &cg))
			assert.Equal(t, a.ActivationID, cg.ActivationID)
			assert.Equal(t, string(tt.status), cg.Response.Status)
			assert.Equal(t, tt.status == StatusSuccess, cg.Response.Success)
			assert.Equal(t, tt.wantResult, *cg.Response.Result)
			assert.Equal(t, int64(42), cg.Duration)
			assert.Equal(t, a.Start, cg.Start)
			assert.Equal(t, a.End, cg.End)
			assert.Equal(t, a.Logs, cg.Logs)
			assert.Contains(t, cg.Annotations, cgKeyValue{Key: "kind", Value: "blackbox"})

			// GET /activations/ID/result is response alone: {status, success, result}.
			b, err = json.Marshal(a.Response)
			require.NoError(t, err)
			assert.JSONEq(t, `{"status":"`+string(tt.status)+`","success":`+map[bool]string{true: "true", false: "false"}[tt.status == StatusSuccess]+`,"result":`+tt.result+`}`, string(b))
		})
	}
}

func TestStatusCodes(t *testing.T) {
	for s, want := range map[Status]int{
		StatusSuccess: 0, StatusApplicationError: 1, StatusDeveloperError: 2, StatusWhiskError: 3, "bogus": 3,
	} {
		assert.Equal(t, want, s.Code(), s)
	}
	assert.Equal(t, "application error", StatusApplicationError.String())
	assert.Equal(t, "action developer error", string(StatusDeveloperError))
	assert.Equal(t, "whisk internal error", string(StatusWhiskError))
}

// The completion annotation carries the terminal phases of package
// completion; they must not drift apart.
func TestCompletionMatchesPhases(t *testing.T) {
	assert.Equal(t, string(completion.PhaseDone), string(CompletionDone))
	assert.Equal(t, string(completion.PhaseExpired), string(CompletionExpired))
	assert.Equal(t, string(completion.PhaseFailed), string(CompletionFailed))
}

// The list view (the controller's activations filter view):
// no logs, no response, a top-level statusCode once ended.
func TestActivationSummary(t *testing.T) {
	a := sampleActivation()
	a.Response = NewResponse(StatusApplicationError, json.RawMessage(`{"error":"boom"}`))
	b, err := json.Marshal(a.Summary())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.NotContains(t, got, "logs")
	assert.NotContains(t, got, "response")
	assert.NotContains(t, got, "subject")
	assert.Equal(t, float64(1), got["statusCode"])
	for _, k := range []string{"namespace", "name", "version", "publish", "annotations", "activationId", "start", "end", "duration"} {
		assert.Contains(t, got, k)
	}

	running := Activation{Namespace: "guest", Name: "hello", ActivationID: "x", Start: 5}
	b, err = json.Marshal(running.Summary())
	require.NoError(t, err)
	assert.JSONEq(t, `{"namespace":"guest","name":"hello","version":"","publish":false,"annotations":[],"activationId":"x","start":5}`, string(b))
}

func TestFilterName(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        string
	}{
		{"no path", nil, "act"},
		{"root action", map[string]string{"path": "guest/act"}, "act"},
		{"packaged action", map[string]string{"path": "guest/pkg/act"}, "pkg/act"},
		{"through a binding", map[string]string{"path": "other/pkg/act", "binding": "guest/mybinding"}, "mybinding/act"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Activation{Name: "act"}
			for k, v := range tt.annotations {
				require.NoError(t, a.Annotations.SetJSON(k, v))
			}
			assert.Equal(t, tt.want, a.FilterName())
		})
	}
}

func TestNewActivationID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewActivationID()
		assert.Regexp(t, `^[0-9a-f]{32}$`, id)
		assert.True(t, IsActivationID(id))
		assert.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
	assert.False(t, IsActivationID("F1E2D3C4B5A697881A2B3C4D5E6F7A8B"))
	assert.False(t, IsActivationID("abc"))
}
