package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/internal/syncbuf"
)

// Bounds of the Prometheus server's life.
const (
	prometheusStart    = time.Minute      // until /-/ready answers 200
	prometheusStop     = 30 * time.Second // until it exits after a kill
	prometheusAttempts = 3                // a free port may be taken before the server binds it
)

// Prometheus is a real Prometheus server started for a test.
type Prometheus struct {
	// URL is its base URL, e.g. http://127.0.0.1:40123.
	URL string
	hc  *http.Client
	out *syncbuf.Buffer
}

// RequirePrometheus starts Debian's prometheus (`make deps` installs it)
// on a free loopback port, scraping every second the /metrics of each
// target, by job name (job → host:port), with its storage in a
// t.TempDir(); it returns once the server is ready, and kills it when the
// test ends. Without the binary the test is skipped, or fails under
// CI=true.
func RequirePrometheus(t testing.TB, targets map[string]string) *Prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		missing(t, "install it: make deps (or apt-get install -y prometheus)", "prometheus is not installed: %v", err)
		return nil
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(config, []byte(prometheusConfig(targets)), 0o644))
	var failures []error
	for range prometheusAttempts {
		p, err := startPrometheus(t, bin, config, filepath.Join(dir, "data"))
		if err == nil {
			return p
		}
		failures = append(failures, err)
	}
	t.Fatalf("prometheus could not be started: %v", errors.Join(failures...))
	return nil
}

// prometheusConfig scrapes each target every second (jobs in name order).
func prometheusConfig(targets map[string]string) string {
	jobs := make([]string, 0, len(targets))
	for job := range targets {
		jobs = append(jobs, job)
	}
	sort.Strings(jobs)
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n")
	for _, job := range jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    metrics_path: /metrics\n    static_configs:\n      - targets: [%q]\n", job, targets[job])
	}
	return b.String()
}

func startPrometheus(t testing.TB, bin, config, data string) (*Prometheus, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := &Prometheus{URL: "http://" + addr, hc: &http.Client{Timeout: 30 * time.Second}, out: &syncbuf.Buffer{}}
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+data, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(prometheusStop):
			t.Errorf("prometheus (pid %d) did not exit %s after being killed", cmd.Process.Pid, prometheusStop)
		}
	}
	deadline := time.Now().Add(prometheusStart)
	for {
		resp, err := p.hc.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(stop)
				return p, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("prometheus on %s exited at start:\n%s", addr, p.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("prometheus on %s was not ready within %s (last error: %v):\n%s", addr, prometheusStart, err, p.out)
		}
	}
}

// Query evaluates an instant PromQL query whose answer is one number (a
// scalar, or a vector of one sample, e.g. a sum); ok is false when the
// vector is empty (no series yet, or a comparison filtered it out).
func (p *Prometheus) Query(t testing.TB, promql string) (value float64, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(promql), nil)
	require.NoError(t, err)
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatalf("query %q: %v\nprometheus:\n%s", promql, err, p.out)
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	if answer.Status != "success" {
		t.Fatalf("query %q: %s (HTTP %d)", promql, answer.Error, resp.StatusCode)
	}
	var sample [2]any // [time, "value"]
	switch answer.Data.ResultType {
	case "scalar":
		require.NoError(t, json.Unmarshal(answer.Data.Result, &sample))
	case "vector":
		var vec []struct {
			Value [2]any `json:"value"`
		}
		require.NoError(t, json.Unmarshal(answer.Data.Result, &vec))
		if len(vec) == 0 {
			return 0, false
		}
		if len(vec) > 1 {
			t.Fatalf("query %q: %d samples; sum or filter it to one", promql, len(vec))
		}
		sample = vec[0].Value
	default:
		t.Fatalf("query %q: a %s; ask for a number", promql, answer.Data.ResultType)
	}
	s, _ := sample[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v, true
}

// Await polls the query until it has an answer (write the condition into
// it: `sum(x) == 5`), at most bound; it fails the test with the last answer
// otherwise.
func (p *Prometheus) Await(t testing.TB, promql string, bound time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		v, ok := p.Query(t, promql)
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("PromQL %q had no answer within %s\nprometheus:\n%s", promql, bound, p.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
