package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/kube"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// wiringBound bounds each wiring test: an image build, a pod and the
// invoker's commands, each in its own container, on a busy machine.
const wiringBound = 8 * time.Minute

// nodeDockerSocket is the node's Docker socket, which deploy-kube's docker
// factory mounts into the invoker, in both of its spellings.
var nodeDockerSocket = []string{"/var/run/docker.sock", "/run/docker.sock"}

// reachesDockerSocket reports whether a mount of host path p (p itself,
// or a directory above it) gives the node's Docker socket.
func reachesDockerSocket(p string) bool {
	p = path.Clean(p)
	for _, s := range nodeDockerSocket {
		if p == s || p == "/" || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// TestKubeWiringDockerFactory runs the invoker pod that `epilogue k8s
// post-render` makes of deploy-kube's docker factory (kube/testdata's real
// `helm template` output) on this Docker engine: epilogue-shim from its
// image with the rendered args, env, mounts and securityContext, and a
// stand-in for the invoker with the rendered invoker's env and mounts,
// driving the invoker's docker CLI sequence. A pause through the pod's
// wiring must wait for the activation's work; unpause and rm -f follow.
func TestKubeWiringDockerFactory(t *testing.T) {
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, imageRef)
	ctx, cancel := context.WithTimeout(context.Background(), wiringBound)
	defer cancel()
	removeStale(ctx, t, cli)

	// The shim's journal on the node: a directory of this run.
	journalDir := t.TempDir()
	m, tmpl, _ := renderInvoker(t, "owdev-docker.yaml", kube.Options{JournalHostPath: journalDir}, kube.FactoryDocker)
	shimC := namedContainer(t, tmpl.Spec.InitContainers, kube.ShimContainer)
	inv := namedContainer(t, tmpl.Spec.Containers, kube.InvokerContainer)
	testenv.RequireImage(t, cli, shimC.Image)

	// The invoker reaches the daemon only through the shim: none of its
	// mounts gives the node's socket, the shim's do.
	vol := func(name string) corev1.Volume {
		for _, v := range tmpl.Spec.Volumes {
			if v.Name == name {
				return v
			}
		}
		t.Fatalf("no volume %q in the rendered pod", name)
		return corev1.Volume{}
	}
	socketMounts := func(c corev1.Container) (n int) {
		for _, vm := range c.VolumeMounts {
			if v := vol(vm.Name); v.HostPath != nil && reachesDockerSocket(path.Join(v.HostPath.Path, vm.SubPath)) || reachesDockerSocket(vm.MountPath) {
				n++
			}
		}
		return n
	}
	require.Zero(t, socketMounts(inv), "the rendered invoker still mounts the node's Docker socket: %+v", inv.VolumeMounts)
	require.Equal(t, 1, socketMounts(shimC), "the rendered shim must mount the node's Docker socket: %+v", shimC.VolumeMounts)
	dockerHost, _ := envValue(inv, "DOCKER_HOST")
	require.Equal(t, kube.ShimDockerHost, dockerHost, "the rendered invoker's DOCKER_HOST")

	// The Secret holding the shim's notify key, which the operator creates
	// beside the chart (docs/kubernetes.md), as kubectl would from
	// --from-literal=notify.key="$(head -c 32 /dev/urandom | base64)".
	var keySecret string
	for _, vm := range shimC.VolumeMounts {
		if v := vol(vm.Name); v.Secret != nil && slices.ContainsFunc(v.Secret.Items, func(k corev1.KeyToPath) bool { return k.Key == kube.NotifyKeyFile }) {
			keySecret = v.Secret.SecretName
		}
	}
	require.NotEmpty(t, keySecret, "the rendered shim mounts no Secret with a %s", kube.NotifyKeyFile)
	raw := make([]byte, 32)
	_, err := rand.Read(raw)
	require.NoError(t, err)
	secrets := map[string]map[string][]byte{keySecret: {kube.NotifyKeyFile: []byte(base64.StdEncoding.EncodeToString(raw))}}

	img := buildPodImage(ctx, t, cli)
	p := startPod(ctx, t, cli, m, tmpl.Spec, img, secrets)
	shim := p.start(ctx, shimC) // returns once its startup probe passes
	invoker := &standIn{p: p, image: img, env: p.env(inv),
		// Its hostPath mounts (cgroups, runc state, the containers' logs)
		// are for the JVM's reads, not the CLI's, and would only expose
		// this shared machine; the pod-local ones carry the wiring.
		mounts: p.mounts(ctx, inv, func(v corev1.Volume) bool { return v.HostPath == nil })}

	// The invoker's start: `docker version` must reach the daemon.
	r := invoker.docker(ctx, "version", "--format", "{{.Client.Version}}")
	require.Zerof(t, r.exit, "docker version through the shim: %s", r)

	// docker run as the invoker builds it (its network and extra env from
	// the rendered invoker's env).
	network, ok := envValue(inv, "CONFIG_whisk_containerFactory_containerArgs_network")
	require.True(t, ok, "the rendered invoker names no action network")
	name := fmt.Sprintf("wsk92_%s_guest_wiring", newActivationID(t)[:12])
	removeWhenDone(t, cli, name, true) // directly on the daemon, should the test fail first
	args := []string{"run", "-d", "--cpu-shares", "256", "--memory", "256m", "--memory-swap", "256m",
		"--network", network, "-e", "__OW_API_HOST=" + apiHost}
	for _, kv := range actionEnv(t, m, inv) {
		args = append(args, "-e", kv)
	}
	args = append(args, "--name", name, "--cap-drop", "NET_RAW", "--cap-drop", "NET_ADMIN",
		"--ulimit", "nofile=1024:1024", "--pids-limit", "1024", "--log-driver", "json-file", imageRef)
	r = invoker.docker(ctx, args...)
	require.Zerof(t, r.exit, "docker run through the shim: %s", r)
	id := strings.TrimSpace(r.stdout)
	action := &actionContainer{cli: cli, id: id}
	info := action.inspect(ctx, t)
	require.Equal(t, "/"+name, info.Name)
	ep := info.NetworkSettings.Networks[network]
	require.NotNil(t, ep, "the action container is not on %s", network)
	action.ip = ep.IPAddress
	// The shim told the runtime where to push, on the pod's IP: the
	// downward API's status.podIP reached its --notify-listen.
	var notifyURL string
	for _, kv := range info.Config.Env {
		if v, ok := strings.CutPrefix(kv, completion.EnvNotifyURL+"="); ok {
			notifyURL = v
		}
	}
	assert.Truef(t, strings.HasPrefix(notifyURL, "http://"+net.JoinHostPort(p.ip, "")), "%s in the action container: %q; want the pod's IP %s", completion.EnvNotifyURL, notifyURL, p.ip)

	a := startGatedActivation(ctx, t, cli, action)
	rt, g, activation := a.rt, a.g, a.id

	// The daemon's own record of the real pause (since now: the stream may
	// open after the event).
	evctx, evcancel := context.WithCancel(ctx)
	defer evcancel()
	since := time.Now()
	evs, everr := cli.Events(evctx, events.ListOptions{Since: fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()), Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)), filters.Arg("container", id), filters.Arg("event", string(events.ActionPause)))})

	// docker pause after the pause grace: the shim answers at once (the
	// invoker's 10 s pause timeout would otherwise destroy the container),
	// journals the pause on the node and holds it while the work is held.
	r = invoker.docker(ctx, "pause", id)
	require.Zerof(t, r.exit, "docker pause through the shim, with the work held at the gate: %s", r)
	pause := journalEntry(t, journalDir, id, "pause")
	require.Equalf(t, journal.Deferred, pause.State, "the journal's pause with the work held: %+v", pause)
	require.Falsef(t, action.inspect(ctx, t).State.Paused, "the daemon paused the container while the work was held at the gate")
	r2 := rt.get(ctx, completion.StatusPath)
	require.Equalf(t, http.StatusOK, r2.status, "the runtime, with the pause deferred: %s", r2)
	assert.Contains(t, string(r2.body), `"phase":"responded"`, "the activation with the pause deferred")

	opened := time.Now()
	g.Open("linger")
	select {
	case ev := <-evs:
		assert.Falsef(t, time.Unix(0, ev.TimeNano).Before(opened), "the daemon paused the container at %s, before the gate opened at %s", time.Unix(0, ev.TimeNano), opened)
	case err := <-everr:
		t.Fatalf("the daemon's events: %v", err)
	case <-ctx.Done():
		t.Fatal("the deferred pause never reached the daemon after the gate opened")
	}
	assert.True(t, action.inspect(ctx, t).State.Paused, "State.Paused after the deferred pause")
	// The shim journals the outcome once the daemon has answered.
	for pause.State == journal.Deferred && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		pause = journalEntry(t, journalDir, id, "pause")
	}
	assert.Equal(t, journal.Applied, pause.State, "the journal's pause once the work was done")
	// A cluster's Prometheus scrapes the shim on the pod's IP (its
	// --metrics-listen): the pause, deferred then sent, and nothing open.
	shimMetrics := testenv.Scrape(t, "http://"+net.JoinHostPort(p.ip, strconv.Itoa(kube.DefaultMetricsPort))+"/metrics")
	assert.Empty(t, testenv.MetricsDiff(shimMetrics, map[string]float64{
		"epilogue_reclaims_total{decision=deferred,op=pause}": 1,
		"epilogue_reclaims_total{decision=done,op=pause}":     1,
		"epilogue_shim_journal_entries":                       0,
	}), "the shim's metrics on the pod's IP")
	shimOut, shimErr, err := shim.logs(ctx)
	require.NoError(t, err)
	assert.Contains(t, shimOut+shimErr, "activations=["+activation+"]", "the shim's log names the activation it deferred the pause for")

	// The next activation's docker unpause, then the idle timeout's rm -f.
	r = invoker.docker(ctx, "unpause", id)
	require.Zerof(t, r.exit, "docker unpause through the shim: %s", r)
	assert.False(t, action.inspect(ctx, t).State.Paused, "State.Paused after docker unpause")
	r2 = rt.get(ctx, completion.AwaitPath+"?activation="+activation+"&timeout=2m")
	require.Equalf(t, http.StatusOK, r2.status, "/epilogue/await: %s", r2)
	assert.Contains(t, string(r2.body), `"phase":"done"`, "the activation's record")
	stdout, _, err := action.logs(ctx)
	require.NoError(t, err)
	assert.Contains(t, lines(stdout), lingeringLine(activation), "the work's last step, after the gate")

	r = invoker.docker(ctx, "rm", "-f", id)
	require.Zerof(t, r.exit, "docker rm -f through the shim: %s", r)
	_, err = cli.ContainerInspect(ctx, id)
	assert.Truef(t, cerrdefs.IsNotFound(err), "the action container after docker rm -f: %v", err)
	assert.True(t, shim.inspect(ctx, t).State.Running, "the shim after the sequence")
}

// renderInvoker runs the post-renderer on kube/testdata's rendered
// stream file, as `epilogue k8s post-render` with opt, and returns its
// objects and the patched invoker's pod template.
func renderInvoker(t *testing.T, file string, opt kube.Options, factory kube.Factory) (manifests, corev1.PodTemplateSpec, kube.Result) {
	t.Helper()
	res, err := kube.PostRender(renderedTestdata(t, file), opt)
	require.NoError(t, err)
	require.Equal(t, factory, res.Factory)
	require.Len(t, res.Invokers, 1)
	m := decodeManifests(t, res.Manifests)
	return m, m.podTemplate(t, res.Invokers[0]), res
}

// journalEntry is the last journal line of op on container id, in the
// shim's journal directory on the node.
func journalEntry(t *testing.T, dir, id, op string) journal.Entry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, journal.FileName))
	require.NoError(t, err, "the shim's journal on the node")
	defer f.Close()
	var last *journal.Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e journal.Entry
		require.NoErrorf(t, json.Unmarshal(sc.Bytes(), &e), "journal line %q", sc.Text())
		if e.Op == op && strings.HasPrefix(id, e.Container) && e.Container != "" {
			last = &e
		}
	}
	require.NoError(t, sc.Err())
	require.NotNilf(t, last, "no %s of %s in the shim's journal", op, id)
	return *last
}

// TestKubeWiringPodDeletion reproduces the kubernetes factory's pod
// deletion: the invoker deletes an idle action pod, the kubelet sends
// SIGTERM and SIGKILL after the pod's grace period. The runtime container
// gets the environment and the grace period of the action pod template
// that `epilogue k8s post-render` gives deploy-kube's invoker (kube/
// testdata's real `helm template` output), and its pending work finishes.
func TestKubeWiringPodDeletion(t *testing.T) {
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, imageRef)
	ctx, cancel := context.WithTimeout(context.Background(), wiringBound)
	defer cancel()

	m, tmpl, res := renderInvoker(t, "owdev-kubernetes.yaml", kube.Options{}, kube.FactoryKubernetes)
	inv := namedContainer(t, tmpl.Spec.Containers, kube.InvokerContainer)

	// The action pod template, where the invoker reads it: a file: value
	// of whisk.kubernetes.pod-template, in a ConfigMap mounted into it.
	file, ok := envValue(inv, "CONFIG_whisk_kubernetes_podTemplate")
	require.True(t, ok, "the rendered invoker has no action pod template")
	file, ok = strings.CutPrefix(file, "file:")
	require.Truef(t, ok, "the action pod template is not a file: %q", file)
	var podYAML string
	for _, vm := range inv.VolumeMounts {
		rel, err := filepath.Rel(vm.MountPath, file)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		for _, v := range tmpl.Spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil {
				podYAML, ok = m.configMapKey(t, v.ConfigMap.Name, rel)
				require.Truef(t, ok, "ConfigMap %s has no key %s", v.ConfigMap.Name, rel)
			}
		}
	}
	require.NotEmptyf(t, podYAML, "no ConfigMap mounted into the invoker holds %s", file)
	var actionPod corev1.Pod
	require.NoError(t, yaml.UnmarshalStrict([]byte(podYAML), &actionPod))
	require.NotNil(t, actionPod.Spec.TerminationGracePeriodSeconds, "the action pod template has no terminationGracePeriodSeconds")
	grace := int(*actionPod.Spec.TerminationGracePeriodSeconds)
	require.Equal(t, res.GracePeriod, time.Duration(grace)*time.Second)

	// The invoker replaces the template container's env with its own,
	// extra env vars included: that is the action container's.
	env := actionEnv(t, m, inv)
	require.Contains(t, env, completion.EnvSemantics+"="+string(completion.Isolated))
	drainOnStop(ctx, t, cli, startActionContainer(ctx, t, cli, env...), grace)
}
