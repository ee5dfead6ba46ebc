package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/kube"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestKubeWiringRecoverer runs the durable-task recoverer that `epilogue
// k8s post-render --tasks-redis` adds to deploy-kube's release (kube/testdata's
// real `helm template` output, kubernetes factory) on this Docker engine:
// its image, command, args, env and securityContext from the render, its
// key resolved from the rendered Secret owdev-whisk.auth (deploy-kube's
// guest key, which is the standalone's). Two things differ from the
// cluster, both addresses: the container runs on the host's network, so
// the test's redis-server and standalone on loopback stand for the store
// and the controller, --apihost (the release's controller Service) is
// replaced by the standalone's URL, and --health-listen by a free port.
// examples/durable-order runs on a real standalone (process backend,
// without its built-in recoverer) with the store settings the render gives
// every action container; its container is killed mid-task, and the
// rendered recoverer re-invokes it: the task finishes in an activation
// linked by recoveryOf.
func TestKubeWiringRecoverer(t *testing.T) {
	cli := testenv.RequireDocker(t)
	redisAddr := testenv.RequireRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), wiringBound)
	defer cancel()
	removeStale(ctx, t, cli)

	m, tmpl, res := renderInvoker(t, "owdev-kubernetes.yaml", kube.Options{TasksRedis: redisAddr, TasksLease: time.Second}, kube.FactoryKubernetes)
	require.Equal(t, "Deployment owdev-epilogue-recoverer", res.Recoverer)
	var d appsv1.Deployment
	require.True(t, m.get(t, "Deployment", "owdev-epilogue-recoverer", &d))
	rc := namedContainer(t, d.Spec.Template.Spec.Containers, kube.RecovererContainer)
	testenv.RequireImage(t, cli, rc.Image)

	// What the invoker gives every action container, as the action's
	// parameters (the standalone binds them; the SDK reads either).
	var params whisk.KeyValueArr
	for _, kv := range actionEnv(t, m, namedContainer(t, tmpl.Spec.Containers, kube.InvokerContainer)) {
		k, v, _ := strings.Cut(kv, "=")
		if k == durable.EnvRedis || k == durable.EnvLease {
			params = append(params, whisk.KeyValue{Key: k, Value: v})
		}
	}
	require.Len(t, params, 2, "the render gives the actions the store and the lease")

	s := startServer(t, standalone.BackendProcess, standalone.Config{})
	health := freeLoopbackPort(t)
	pod := &kubePod{t: t, cli: cli, m: m, spec: d.Spec.Template.Spec, name: "epilogue-e2e-recoverer-" + newActivationID(t)[:12]}
	env := pod.env(rc)
	assert.Contains(t, env, durable.EnvAuth+"="+guestAuth, "the key from deploy-kube's Secret is the standalone's")
	var args []string
	replaced := 0
	for _, a := range rc.Args {
		switch {
		case strings.HasPrefix(a, "--apihost=http://owdev-controller:"):
			a, replaced = "--apihost="+s.url, replaced+1
		case strings.HasPrefix(a, "--health-listen="):
			a, replaced = "--health-listen=127.0.0.1:"+health, replaced+1
		}
		args = append(args, a)
	}
	require.Equal(t, 2, replaced, "the rendered args name the controller and the health port: %q", rc.Args)
	hc, user := pod.hostConfig(rc, nil)
	hc.NetworkMode = "host"
	id := pod.create(ctx, &container.Config{Image: rc.Image, Entrypoint: rc.Command, Cmd: args, Env: env, User: user, Labels: pod.labels()}, hc, rc.Name, true)
	require.NoError(t, cli.ContainerStart(ctx, id, container.StartOptions{}))

	// The rendered readiness probe passes: the store answers.
	probe := rc.ReadinessProbe
	require.NotNil(t, probe)
	require.NotNil(t, probe.HTTPGet)
	url := "http://127.0.0.1:" + health + probe.HTTPGet.Path
	hcl := &http.Client{Timeout: time.Duration(probe.TimeoutSeconds) * time.Second}
	require.Eventually(t, func() bool {
		resp, err := hcl.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode == http.StatusOK
	}, startupBound, pollGap, "the recoverer's readiness probe (%s) passes", url)

	killOrders(t, s, redisAddr, params, 1, map[int]bool{0: true})
}

// freeLoopbackPort is a loopback port that is free now.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
