package recoverer_test

import (
	"context"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/durable/recoverer"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/api"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// bound bounds every wait: far above a busy machine's delays.
const bound = 2 * time.Minute

const guestAuth = api.GuestUUID + ":" + api.GuestKey

// The keys of the standalones these tests start: the guest's and alice's,
// a namespace of its own.
const (
	aliceUUID = "a11ce000-0000-4000-8000-000000000001"
	aliceAuth = aliceUUID + ":alice-key-of-at-least-some-length"
)

var standaloneKeys = map[string]string{api.GuestUUID: api.GuestKey, aliceUUID: strings.TrimPrefix(aliceAuth, aliceUUID+":")}

// startStandalone runs a real standalone on the process backend, with
// standaloneKeys. With tasksRedis it runs the recoverer built in.
func startStandalone(t *testing.T, tasksRedis string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := standalone.Config{Listener: ln, DataDir: t.TempDir(), Backend: standalone.BackendProcess,
		ProxyPath: testenv.BuildStatic(t, "./cmd/epilogue-proxy"), Ready: func(u string) { ready <- u },
		TasksRedis: tasksRedis, TasksLease: time.Second, Keys: standaloneKeys}
	go func() { done <- standalone.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(bound + standalone.DefaultShutdownTimeout):
			t.Error("standalone did not stop")
		}
	})
	select {
	case u := <-ready:
		return u
	case err := <-done:
		t.Fatalf("standalone did not start: %v", err)
	case <-time.After(bound):
		t.Fatal("standalone did not start")
	}
	return ""
}

// waitRun returns the pid of the next action process held at the gate.
func waitRun(t *testing.T, g *testenv.Gate, seen map[string]bool) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		for _, e := range g.Events() {
			name, ok := strings.CutPrefix(e, testenv.GateArrive+"run-")
			if ok && !seen[name] {
				seen[name] = true
				pid, _ = strconv.Atoi(name)
				return true
			}
		}
		return false
	}, bound, 20*time.Millisecond)
	return pid
}

// TestKilledContainerTaskFinishesInRecovery: with the recoverer as its own
// process and built into the standalone, the task's container is killed
// mid-task (SIGKILL to the proxy's process group and the action's);
// once the lease lapses the recoverer re-invokes the action through the
// REST API, the task runs again and finishes, and the new activation's
// result links to the first with recoveryOf.
func TestKilledContainerTaskFinishesInRecovery(t *testing.T) {
	for _, builtIn := range []bool{false, true} {
		name := "epilogue tasks recover"
		if builtIn {
			name = "built into the standalone"
		}
		t.Run(name, func(t *testing.T) { killAndRecover(t, builtIn, guestAuth) })
	}
	// The guest's key cannot invoke alice's action (403): the built-in
	// recoverer must invoke it with alice's.
	t.Run("built in, an action of another namespace than the guest's", func(t *testing.T) { killAndRecover(t, true, aliceAuth) })
}

// deployed is the test action on a standalone.
type deployed struct {
	url, redis, gateBase string
	gate                 *testenv.Gate
	wc                   *whisk.Client
	st                   *durable.Store
}

// deploy starts Redis and a standalone (with the recoverer built in when
// builtIn) and creates the test action "tasks", built outside the
// repository as epilogue build does, with the time limit timeoutMs.
// auth is the key of the namespace the action is created in.
func deploy(t *testing.T, ctx context.Context, builtIn bool, timeoutMs int, auth string) *deployed {
	t.Helper()
	d := &deployed{redis: testenv.RequireRedis(t), gate: testenv.NewGate(t)}
	if builtIn {
		d.url = startStandalone(t, d.redis)
	} else {
		d.url = startStandalone(t, "")
	}
	d.gateBase = strings.TrimSuffix(d.gate.URL("x"), "/x")
	zip := filepath.Join(t.TempDir(), "action.zip")
	_, err := actionbuild.Build(ctx, actionbuild.Options{Dir: "testdata/taskaction", Output: zip})
	require.NoError(t, err, "an action built outside the repository links the durable SDK")
	b, err := os.ReadFile(zip)
	require.NoError(t, err)
	code := base64.StdEncoding.EncodeToString(b)
	d.wc, err = whisk.NewClient(nil, &whisk.Config{Host: d.url, AuthToken: auth, Namespace: "_", Insecure: true})
	require.NoError(t, err)
	_, _, err = d.wc.Actions.Insert(&whisk.Action{Name: "tasks",
		Exec:       &whisk.Exec{Kind: "blackbox", Image: "epilogue/action-go:latest", Code: &code},
		Limits:     &whisk.Limits{Timeout: &timeoutMs},
		Parameters: whisk.KeyValueArr{{Key: durable.EnvRedis, Value: d.redis}, {Key: durable.EnvLease, Value: "1s"}},
	}, false)
	require.NoError(t, err)
	d.st, err = durable.Open(d.redis)
	require.NoError(t, err)
	t.Cleanup(d.st.Close)
	return d
}

// linked waits for a successful activation of "tasks" whose result links
// to activation by key, and returns its result.
func (d *deployed) linked(t *testing.T, key, activation string) map[string]any {
	t.Helper()
	var found map[string]any
	require.Eventually(t, func() bool {
		acts, _, err := d.wc.Activations.List(&whisk.ActivationListOptions{Name: "tasks", Docs: true, Limit: 50})
		if err != nil {
			return false
		}
		for _, a := range acts {
			r, _ := a.Response.Result.(map[string]any)
			if a.ActivationID != activation && r[key] == activation && a.Response.Success {
				found = r
				return true
			}
		}
		return false
	}, bound, 50*time.Millisecond, "an activation records %s %s", key, activation)
	return found
}

// acknowledged waits until no task is pending.
func (d *deployed) acknowledged(t *testing.T, ctx context.Context) {
	t.Helper()
	require.Eventually(t, func() bool {
		list, err := d.st.List(ctx, 10)
		return err == nil && len(list) == 0
	}, bound, 50*time.Millisecond, "the task is acknowledged")
}

func killAndRecover(t *testing.T, builtIn bool, auth string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*bound)
	defer cancel()
	d := deploy(t, ctx, builtIn, 60000, auth)
	res, _, err := d.wc.Actions.Invoke("tasks", map[string]any{"gate": d.gateBase}, true, false)
	require.NoError(t, err)
	first, _ := res.(map[string]any)["activationId"].(string)
	require.NotEmpty(t, first)

	seen := map[string]bool{}
	pid := waitRun(t, d.gate, seen)
	ppid := parentOf(t, pid)
	require.NoError(t, syscall.Kill(-ppid, syscall.SIGKILL), "kill the proxy's process group")
	_ = syscall.Kill(-pid, syscall.SIGKILL)

	if !builtIn {
		rec, err := recoverer.New(recoverer.Config{Store: d.st, APIHost: d.url, Auth: auth, Lease: time.Second, Poll: 50 * time.Millisecond})
		require.NoError(t, err)
		rctx, stop := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { defer close(stopped); _ = rec.Run(rctx) }()
		defer func() { stop(); <-stopped }()
	}

	second := waitRun(t, d.gate, seen)
	assert.NotEqual(t, pid, second, "the task runs again in a new container")
	d.gate.Open("run-" + strconv.Itoa(second))
	assert.Equal(t, "held", d.linked(t, durable.ReasonRecovery, first)["task"])
	d.acknowledged(t, ctx)
}

// TestLongTaskContinuesInANewActivation: a task with more work than its
// activation's time limit checkpoints, is handed back before the deadline,
// and the built-in recoverer continues it in a new activation that starts
// from the checkpoint and records continuationOf.
func TestLongTaskContinuesInANewActivation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*bound)
	defer cancel()
	d := deploy(t, ctx, true, 3000, guestAuth)
	res, _, err := d.wc.Actions.Invoke("tasks", map[string]any{"gate": d.gateBase, "task": "long"}, true, false)
	require.NoError(t, err)
	first, _ := res.(map[string]any)["activationId"].(string)
	require.NotEmpty(t, first)

	// Gate long-0 is never opened: the first activation's deadline ends it.
	d.gate.WaitArrived(t, "long-0", bound)
	d.gate.WaitArrived(t, "long-1", bound) // resumed past its checkpoint
	r := d.linked(t, durable.ReasonContinuation, first)
	assert.Equal(t, "long", r["task"])
	d.gate.Open("long-1")
	d.acknowledged(t, ctx)
	assert.Equal(t, 1, d.gate.Arrivals("long-0"), "the continuation did not redo the checkpointed step")
}

func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, err := strconv.Atoi(fields[1])
	require.NoError(t, err)
	require.NotEqual(t, os.Getpid(), ppid, "the action's parent is its proxy")
	return ppid
}

func TestNewRejectsBadConfig(t *testing.T) {
	st, err := durable.Open("127.0.0.1:1")
	require.NoError(t, err)
	for _, tc := range []struct {
		cfg  recoverer.Config
		want string
	}{
		{recoverer.Config{APIHost: "h", Auth: "a:b"}, "--redis"},
		{recoverer.Config{Store: st, Auth: "a:b"}, "--apihost"},
		{recoverer.Config{Store: st, APIHost: "h", Auth: "ab"}, "uuid:key"},
		{recoverer.Config{Store: st, APIHost: "h", Auth: "a:b", Lease: -1}, "negative"},
	} {
		_, err := recoverer.New(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

// TestRecoverDeadLetters: intents that cannot run again are dead-lettered
// with the reason, not re-invoked forever.
func TestRecoverDeadLetters(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() // nothing listens here once closed
	require.NoError(t, ln.Close())
	tests := []struct {
		name    string
		intent  durable.Intent
		crashed bool // an attempt began and its container died
		want    string
	}{
		{"the action is not fully qualified", durable.Intent{Task: "t", Action: "order", Attempts: 3}, false, "not /namespace[/package]/action"},
		{"its attempts are spent", durable.Intent{Task: "t", Action: "/guest/order", Attempts: 1}, true, "attempt 1 of 1 began and never ended"},
		{"its action cannot be invoked", durable.Intent{Task: "t", Action: "/guest/order", Attempts: 3}, false, "re-invocations failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := durable.Open(testenv.RequireRedis(t))
			require.NoError(t, err)
			t.Cleanup(st.Close)
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			tt.intent.Payload = []byte(`{}`)
			id, err := st.Append(ctx, tt.intent, "gone")
			require.NoError(t, err)
			if tt.crashed {
				_, err := st.BeginAttempt(ctx, id, "a1")
				require.NoError(t, err)
			}
			rec, err := recoverer.New(recoverer.Config{Store: st, APIHost: closed, Auth: guestAuth, Lease: time.Millisecond, MaxRecoveries: 2})
			require.NoError(t, err)
			var dead []durable.Dead
			require.Eventually(t, func() bool {
				_, err := rec.Once(ctx)
				require.NoError(t, err)
				dead, err = st.ListDead(ctx, 10)
				require.NoError(t, err)
				return len(dead) == 1
			}, bound, 10*time.Millisecond)
			assert.Contains(t, strings.Join(dead[0].Errors, "\n"), tt.want)
			pending, err := st.List(ctx, 10)
			require.NoError(t, err)
			assert.Empty(t, pending)
		})
	}
}

// TestBuiltInRecovererWithoutTheNamespacesKey: an intent of a namespace the
// standalone has no key of is not invoked with another namespace's key; it
// is dead-lettered with a message naming the namespace and the fix.
func TestBuiltInRecovererWithoutTheNamespacesKey(t *testing.T) {
	redisAddr := testenv.RequireRedis(t)
	startStandalone(t, redisAddr)
	st, err := durable.Open(redisAddr)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 3*bound)
	defer cancel()
	_, err = st.Append(ctx, durable.Intent{Task: "t", Action: "/bob/order", Attempts: 3, Payload: []byte(`{}`)}, "gone")
	require.NoError(t, err)
	var dead []durable.Dead
	require.Eventually(t, func() bool {
		dead, err = st.ListDead(ctx, 10)
		return err == nil && len(dead) == 1
	}, 3*bound, 50*time.Millisecond, "the intent is dead-lettered after the recoverer's attempts")
	errs := strings.Join(dead[0].Errors, "\n")
	assert.Contains(t, errs, `no key of namespace "bob"`)
	assert.Contains(t, errs, "epilogue tasks recover --auth")
}
