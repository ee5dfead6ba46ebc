package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/internal/syncbuf"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// waitBound bounds the wait for lingering work: far above a busy machine's
// delays, and never waited out when the tests pass.
const waitBound = 2 * time.Minute

// lines are the lines written to b so far.
func lines(b *syncbuf.Buffer) []string {
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

type fixture struct {
	*action
	fd3, stdout, stderr *syncbuf.Buffer
	exitCode            int
}

// newFixture returns an in-process action; the __OW_ variables it may set
// are restored when the test ends.
func newFixture(t *testing.T, extended bool) *fixture {
	for _, k := range []string{"ACTIVATION_ID", "NAMESPACE", "DEADLINE", "OBJ", "NUM"} {
		t.Setenv("__OW_"+k, "")
		require.NoError(t, os.Unsetenv("__OW_"+k))
	}
	f := &fixture{fd3: &syncbuf.Buffer{}, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, exitCode: -1}
	f.action = newAction(f.fd3, f.stdout, f.stderr, extended)
	f.exit = func(code int) { f.exitCode = code }
	t.Cleanup(func() { f.wait(waitBound) })
	return f
}

// feed handles one stdin line as serve would.
func (f *fixture) feed(line string) {
	f.dispatch(actionloop.ParseMessage([]byte(line)))
}

func frames(t *testing.T, lines []string) []actionloop.Frame {
	t.Helper()
	out := make([]actionloop.Frame, 0, len(lines))
	for _, l := range lines {
		fr, err := actionloop.ParseFrame([]byte(l))
		require.NoError(t, err, l)
		out = append(out, fr)
	}
	return out
}

func TestUpstream(t *testing.T) {
	cases := []struct {
		name           string
		line           string
		fd3            string
		stdout, stderr string
	}{
		{"echo", `{"value":{"name":"x","html":"<b>"},"activation_id":"a1"}`, `{"name":"x","html":"<b>"}`, "hello stdout\n", "hello stderr\n"},
		{"array input", `{"value":[1,{"a":2}]}`, `[1,{"a":2}]`, "hello stdout\n", "hello stderr\n"},
		{"no value", `{"activation_id":"a1"}`, `{}`, "hello stdout\n", "hello stderr\n"},
		{"quiet", `{"value":{"quiet":true}}`, `{"quiet":true}`, "", ""},
		{"array", `{"value":{"array":true,"quiet":true}}`, `["a","b"]`, "", ""},
		{"notjson", `{"value":{"notjson":true,"quiet":true}}`, `not json`, "", ""},
		{"scalar", `{"value":{"scalar":true,"quiet":true}}`, `42`, "", ""},
		{"delimiter", `{"value":{"delimiter":"❄"}}`, `{"winter":"❄ ☃ ❄"}`, "❄ ☃ ❄\n", ""},
		{"bad request", `not json`, `{"error":"testaction: cannot parse request: actionloop: stdin line is not a request: invalid character 'o' in literal null (expecting 'u')"}`, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false)
			f.feed((tc.line))
			assert.Equal(t, tc.fd3+"\n", f.fd3.String())
			assert.Equal(t, tc.stdout, f.stdout.String())
			assert.Equal(t, tc.stderr, f.stderr.String())
		})
	}
}

func TestEnvResetBetweenRequests(t *testing.T) {
	f := newFixture(t, false)
	env := func() map[string]string {
		lines := lines(f.fd3)
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &m))
		return m
	}

	f.feed((`{"value":{"env":true,"quiet":true},"activation_id":"a1","namespace":"ns","obj":{"a": 1},"num":5}`))
	m := env()
	assert.Equal(t, "a1", m["__OW_ACTIVATION_ID"])
	assert.Equal(t, "ns", m["__OW_NAMESPACE"])
	assert.Equal(t, `{"a":1}`, m["__OW_OBJ"])
	assert.Equal(t, "5", m["__OW_NUM"])
	assert.NotContains(t, m, "__OW_VALUE")

	f.feed((`{"value":{"env":true,"quiet":true},"activation_id":"a2","deadline":1700000060000}`))
	m = env()
	assert.Equal(t, "a2", m["__OW_ACTIVATION_ID"])
	assert.Equal(t, "1700000060000", m["__OW_DEADLINE"])
	for _, k := range []string{"__OW_NAMESPACE", "__OW_OBJ", "__OW_NUM"} {
		assert.NotContains(t, m, k)
		_, set := os.LookupEnv(k)
		assert.False(t, set, k)
	}
}

func TestEnvPrefix(t *testing.T) {
	f := newFixture(t, false)
	t.Setenv("TEST_HI", "ALL")
	t.Setenv("TEST_HELLO", "WORLD")
	f.feed((`{"value":{"envprefix":"TEST_","quiet":true}}`))
	assert.Equal(t, `{"env":"TEST_HELLO=WORLD TEST_HI=ALL"}`+"\n", f.fd3.String())
}

func TestCrash(t *testing.T) {
	f := newFixture(t, false)
	f.feed((`{"value":{"crash":true}}`))
	assert.Equal(t, 2, f.exitCode)
	assert.Empty(t, f.fd3.String())
}

func TestExtendedDoneAtOnce(t *testing.T) {
	f := newFixture(t, true)
	f.feed((`{"epilogue_seq":3,"value":{"name":"x"}}`))
	fr := frames(t, lines(f.fd3))
	require.Len(t, fr, 1)
	assert.Equal(t, actionloop.KindResponse, fr[0].Kind)
	assert.Equal(t, uint64(3), fr[0].Seq)
	assert.True(t, fr[0].Done)
	assert.JSONEq(t, `{"name":"x"}`, string(fr[0].Result))
}

func TestExtendedLinger(t *testing.T) {
	cases := []struct {
		name    string
		value   string
		result  string
		kinds   []actionloop.FrameKind
		status  actionloop.DoneStatus
		errText string
	}{
		{"ok", `{"linger_ms":20}`, `{"accepted":true,"linger_ms":20}`, []actionloop.FrameKind{"response", "done"}, actionloop.StatusOK, ""},
		{"fail_after", `{"linger_ms":20,"fail_after":true}`, `{"accepted":true,"linger_ms":20}`, []actionloop.FrameKind{"response", "done"}, actionloop.StatusError, "post-response write failed"},
		{"pending_updates", `{"linger_ms":40,"pending_updates":true}`, `{"accepted":true,"linger_ms":40}`, []actionloop.FrameKind{"response", "pending", "done"}, actionloop.StatusOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.feed((`{"epilogue_seq":7,"activation_id":"a7","value":` + tc.value + `}`))
			require.True(t, f.wait(waitBound))

			fr := frames(t, lines(f.fd3))
			require.Len(t, fr, len(tc.kinds))
			for i, k := range tc.kinds {
				assert.Equal(t, k, fr[i].Kind)
				assert.Equal(t, uint64(7), fr[i].Seq)
			}
			resp, done := fr[0], fr[len(fr)-1]
			assert.False(t, resp.Done)
			assert.JSONEq(t, tc.result, string(resp.Result))
			assert.Equal(t, tc.status, done.Status)
			assert.Equal(t, tc.errText, done.Error)
			assert.Greater(t, done.PostResponseMs, 0.0)
			assert.Contains(t, f.stdout.String(), "lingering a7\n")
		})
	}
}

func TestExtendedCancel(t *testing.T) {
	f := newFixture(t, true)
	f.feed((`{"epilogue_seq":9,"activation_id":"a9","value":{"linger_ms":10000,"quiet":true}}`))
	f.feed((`{"epilogue":"cancel","seq":9}`))
	require.True(t, f.wait(waitBound))

	fr := frames(t, lines(f.fd3))
	require.Len(t, fr, 2)
	assert.Equal(t, []string{"sleep 10000ms"}, fr[0].Pending)
	assert.Equal(t, actionloop.KindDone, fr[1].Kind)
	assert.Equal(t, uint64(9), fr[1].Seq)
	assert.Equal(t, actionloop.StatusExpired, fr[1].Status)
	assert.Equal(t, []string{"sleep 10000ms"}, fr[1].Unfinished)
	assert.NotContains(t, f.stdout.String(), "lingering")
}

func TestExtendedDeadline(t *testing.T) {
	f := newFixture(t, true)
	deadline := strconv.FormatInt(time.Now().Add(30*time.Millisecond).UnixMilli(), 10)
	f.feed((`{"epilogue_seq":4,"deadline":"` + deadline + `","value":{"linger_ms":10000,"quiet":true}}`))
	require.True(t, f.wait(waitBound))

	fr := frames(t, lines(f.fd3))
	require.Len(t, fr, 2)
	assert.Equal(t, actionloop.StatusExpired, fr[1].Status)
}

// TestGate: lingering work is held at its gate, in both modes: nothing of
// its end is written until the test opens the gate, and it ends after.
func TestGate(t *testing.T) {
	for _, extended := range []bool{true, false} {
		t.Run(map[bool]string{true: "extended", false: "upstream"}[extended], func(t *testing.T) {
			g := testenv.NewGate(t)
			f := newFixture(t, extended)
			f.feed(`{"epilogue_seq":5,"activation_id":"a5","value":{"linger_ms":1,"quiet":true,"gate":"` + g.URL("work") + `"}}`)
			g.WaitArrived(t, "work", waitBound)
			assert.NotContains(t, f.stdout.String(), "lingering", "the work ended before its gate opened")
			assert.Len(t, lines(f.fd3), 1, "only the response is out while the gate holds the work")
			g.Open("work")
			require.True(t, f.wait(waitBound))
			assert.Contains(t, f.stdout.String(), "lingering a5\n")
			if !extended {
				return
			}
			fr := frames(t, lines(f.fd3))
			require.Len(t, fr, 2)
			assert.Equal(t, actionloop.KindDone, fr[1].Kind)
			assert.Equal(t, actionloop.StatusOK, fr[1].Status)
		})
	}
}

// TestGateFails: a gate that answers an error fails the work instead of
// letting it pass.
func TestGateFails(t *testing.T) {
	f := newFixture(t, true)
	f.feed(`{"epilogue_seq":6,"value":{"linger_ms":1,"quiet":true,"gate":"http://127.0.0.1:1/closed"}}`)
	require.True(t, f.wait(waitBound))
	fr := frames(t, lines(f.fd3))
	require.Len(t, fr, 2)
	assert.Equal(t, actionloop.StatusError, fr[1].Status)
	assert.Contains(t, fr[1].Error, "gate")
}

// TestGateCancelled: a cancel reaches work held at its gate.
func TestGateCancelled(t *testing.T) {
	g := testenv.NewGate(t)
	f := newFixture(t, true)
	f.feed(`{"epilogue_seq":8,"value":{"linger_ms":1,"quiet":true,"gate":"` + g.URL("held") + `"}}`)
	g.WaitArrived(t, "held", waitBound)
	f.feed(`{"epilogue":"cancel","seq":8}`)
	require.True(t, f.wait(waitBound))
	fr := frames(t, lines(f.fd3))
	require.Len(t, fr, 2)
	assert.Equal(t, actionloop.StatusExpired, fr[1].Status)
	assert.Equal(t, []string{"sleep 1ms"}, fr[1].Unfinished)
}

func TestInstance(t *testing.T) {
	f := newFixture(t, true)
	f.feed(`{"epilogue_seq":1,"value":{"instance":true,"quiet":true}}`)
	f.feed(`{"epilogue_seq":2,"value":{"instance":true,"quiet":true,"linger_ms":1}}`)
	require.True(t, f.wait(waitBound))
	fr := frames(t, lines(f.fd3))
	require.Len(t, fr, 3)
	assert.JSONEq(t, `{"instance":"`+instance+`"}`, string(fr[0].Result))
	assert.JSONEq(t, `{"accepted":true,"linger_ms":1,"instance":"`+instance+`"}`, string(fr[1].Result))
	assert.Regexp(t, `^\d+-[0-9a-f]{12}$`, instance)
}
