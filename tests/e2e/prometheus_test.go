package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// promBound bounds every wait on Prometheus: a scrape every second, far
// more room than a loaded machine needs.
const promBound = 90 * time.Second

// TestPrometheusScrapesStandalone: a real Prometheus scrapes two
// standalone servers, one under each semantics; PromQL sees every counter
// at 0 first, then moved exactly as the workload dictates: N activations
// done, and, under epilogue only, N reclaims deferred for their
// post-response work and container-seconds held for it.
func TestPrometheusScrapesStandalone(t *testing.T) {
	const n = 5
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	servers := map[reclaim.Policy]*server{}
	targets := map[string]string{}
	for _, policy := range []reclaim.Policy{reclaim.Epilogue, reclaim.Vanilla} {
		s := startServer(t, standalone.BackendProcess, standalone.Config{Pool: pool.Config{Policy: policy}})
		servers[policy] = s
		targets[string(policy)] = strings.TrimPrefix(s.url, "http://")
	}
	prom := testenv.RequirePrometheus(t, targets)

	for job := range targets {
		prom.Await(t, fmt.Sprintf(`up{job=%q} == 1`, job), promBound)
		prom.Await(t, fmt.Sprintf(`sum(epilogue_activations_total{job=%q}) == 0`, job), promBound)
	}

	for _, s := range servers {
		r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/writer?overwrite=false",
			`{"namespace":"_","name":"writer","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go:latest","main":"main"}}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		for range n {
			// Answers at once, then writes for 50 ms after the response.
			r := s.wsk(t, "POST", "/api/v1/namespaces/_/actions/writer?blocking=true", `{"quiet":true,"linger_ms":50}`)
			require.Equal(t, http.StatusOK, r.status, r.body)
			s.finalRecord(t, decodeMap(t, r.body)["activationId"].(string))
		}
	}

	for _, tc := range []struct {
		job    reclaim.Policy
		promql []string // each must have an answer: the condition is in it; N is n
	}{{
		job: reclaim.Epilogue,
		promql: []string{
			`sum(epilogue_activations_total{job="epilogue",outcome="done"}) == N`,
			`sum(epilogue_activations_total{job="epilogue",outcome!="done"}) == 0`,
			`sum(epilogue_response_seconds_count{job="epilogue"}) == N`,
			`sum(epilogue_post_response_seconds_count{job="epilogue"}) == N`,
			`sum(epilogue_reclaims_total{job="epilogue",decision="deferred"}) == N`,
			`sum(epilogue_reclaims_total{job="epilogue",decision="done"}) == N`,
			`sum(epilogue_reclaims_total{job="epilogue",decision="forced"}) == 0`,
			`sum(epilogue_linger_container_seconds_total{job="epilogue"}) > 0`,
			`sum(epilogue_lingering_containers{job="epilogue"}) == 0`,
			`sum(epilogue_pending_work_items{job="epilogue"}) == 0`,
		},
	}, {
		job: reclaim.Vanilla,
		promql: []string{
			`sum(epilogue_activations_total{job="vanilla",outcome="done"}) == N`,
			`sum(epilogue_response_seconds_count{job="vanilla"}) == N`,
			`sum(epilogue_reclaims_total{job="vanilla",decision="deferred"}) == 0`,
			`sum(epilogue_linger_container_seconds_total{job="vanilla"}) == 0`,
		},
	}} {
		t.Run(string(tc.job), func(t *testing.T) {
			for _, q := range tc.promql {
				prom.Await(t, strings.ReplaceAll(q, "N", fmt.Sprint(n)), promBound)
			}
			// The labels are the documented ones.
			v, ok := prom.Query(t, fmt.Sprintf(`count(epilogue_activations_total{job=%q,semantics=%q})`, tc.job, tc.job))
			assert.True(t, ok)
			assert.Equal(t, 5.0, v, "one series per outcome: done, expired, failed, error, unknown")
		})
	}
}

// TestPrometheusScrapesShim: a real Prometheus scrapes an epilogue-shim in
// front of the Docker engine and the stock-semantics standalone (vanilla,
// pausing at once) that drives it, as an invoker would. While the
// activation's post-response work is held at a gate, PromQL sees the
// pause deferred and open in the journal; once the work is done, the
// pause sent and the journal empty.
func TestPrometheusScrapesShim(t *testing.T) {
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, "epilogue/action-go:latest")
	ctx, cancel := context.WithTimeout(context.Background(), serverBound)
	gw, err := docker.Gateway(ctx, cli, "bridge")
	cancel()
	require.NoError(t, err)
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))

	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "docker.sock")
	ready := make(chan struct{})
	sh, err := invokershim.New(invokershim.Config{
		Listen: []string{sock}, JournalDir: filepath.Join(dir, "journal"),
		NotifyListen: net.JoinHostPort(gw, "0"), MetricsListen: "127.0.0.1:0",
		Ready: func() { close(ready) },
	})
	require.NoError(t, err)
	shimCtx, stopShim := context.WithCancel(context.Background())
	shimDone := make(chan error, 1)
	go func() { shimDone <- sh.Run(shimCtx) }()
	select {
	case <-ready:
	case err := <-shimDone:
		t.Fatalf("the shim did not start: %v", err)
	case <-time.After(serverBound):
		t.Fatalf("the shim did not start within %s", serverBound)
	}
	t.Cleanup(func() { // after the server's cleanup: it removes its containers through the shim
		stopShim()
		select {
		case err := <-shimDone:
			assert.NoError(t, err)
		case <-time.After(serverBound):
			t.Error("the shim did not stop")
		}
	})

	s := startServer(t, standalone.BackendDocker, standalone.Config{DockerHost: sock, Pool: pool.Config{
		Policy: reclaim.Vanilla, RuntimeSemantics: completion.Isolated, PauseGrace: pool.Immediately,
	}})
	prom := testenv.RequirePrometheus(t, map[string]string{"shim": sh.MetricsAddr(), "standalone": strings.TrimPrefix(s.url, "http://")})
	prom.Await(t, `up{job="shim"} == 1`, promBound)
	prom.Await(t, `sum(epilogue_reclaims_total{job="shim"}) == 0`, promBound)

	g := testenv.NewGateOn(t, gw)
	r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/held?overwrite=false",
		`{"namespace":"_","name":"held","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go:latest","main":"main"}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = s.wsk(t, "POST", "/api/v1/namespaces/_/actions/held?blocking=true",
		fmt.Sprintf(`{"quiet":true,"linger_ms":1,"gate":%q}`, g.URL("work")))
	require.Equal(t, http.StatusOK, r.status, r.body)
	g.WaitArrived(t, "work", promBound)

	for _, q := range []string{
		`sum(epilogue_reclaims_total{job="shim",op="pause",decision="deferred"}) == 1`,
		`sum(epilogue_shim_journal_entries{job="shim"}) == 1`,
		`sum(epilogue_shim_passthrough_seconds_count{job="shim",call="create"}) == 1`,
		`sum(epilogue_shim_passthrough_seconds_count{job="shim",call="forward"}) > 0`,
		`sum(epilogue_response_seconds_count{job="standalone"}) == 1`,
	} {
		prom.Await(t, q, promBound)
	}
	v, ok := prom.Query(t, `sum(epilogue_reclaims_total{job="shim",decision="done"})`)
	require.True(t, ok)
	assert.Zero(t, v, "nothing sent while the work is held")

	g.Open("work")
	for _, q := range []string{
		`sum(epilogue_reclaims_total{job="shim",op="pause",decision="done"}) == 1`,
		`sum(epilogue_shim_journal_entries{job="shim"}) == 0`,
		`sum(epilogue_reclaims_total{job="shim",decision="forced"}) == 0`,
	} {
		prom.Await(t, q, promBound)
	}
}

// TestStandaloneMetricsExposition: the standalone's /metrics answers in
// Prometheus' text format, and each workload moves exactly its counters.
func TestStandaloneMetricsExposition(t *testing.T) {
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	s := startServer(t, standalone.BackendProcess, standalone.Config{})
	r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/counted?overwrite=false",
		`{"namespace":"_","name":"counted","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go:latest","main":"main"}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	metricsURL := s.url + standalone.MetricsPath

	before := testenv.Scrape(t, metricsURL, "semantics")
	assert.Contains(t, before, "go_goroutines", "the process's own metrics too")
	for _, tc := range []struct {
		name   string
		params string
		status int
		moved  map[string]float64 // increase over the previous step
	}{
		{name: "lingering work", params: `{"quiet":true,"linger_ms":20}`, status: http.StatusOK, moved: map[string]float64{
			"epilogue_activations_total{outcome=done}": 1, "epilogue_reclaims_total{decision=deferred}": 1,
			"epilogue_reclaims_total{decision=done}": 1, "epilogue_response_seconds_count": 1, "epilogue_post_response_seconds_count": 1,
		}},
		{name: "a crash", params: `{"crash":true}`, status: http.StatusBadGateway, moved: map[string]float64{
			"epilogue_activations_total{outcome=error}": 1, "epilogue_response_seconds_count": 1,
			"epilogue_activations_total{outcome=done}": 0, "epilogue_reclaims_total{decision=deferred}": 0,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.wsk(t, "POST", "/api/v1/namespaces/_/actions/counted?blocking=true", tc.params)
			require.Equal(t, tc.status, r.status, r.body)
			// The blocking invoke answers at the response; the record (and
			// the count) is final once the work is done.
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				after := testenv.Scrape(t, metricsURL, "semantics")
				ok := true
				for k, want := range tc.moved {
					ok = assert.Equal(c, want, after[k]-before[k], "%s moved", k) && ok
				}
				if ok {
					before = after
				}
			}, apiBound, pollGap)
		})
	}
}
