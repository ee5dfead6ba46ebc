package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone"
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
