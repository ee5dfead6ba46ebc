package kube

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/epilogue-dev/epilogue/reclaim"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// The inputs are deploy-kube's chart (apache/openwhisk-deploy-kube@108f327,
// helm/openwhisk) rendered by helm v4.3.2 template, release owdev,
// namespace openwhisk, with deploy/helm/openwhisk-values.yaml: as it is
// (kubernetes factory), with invoker.containerFactory.impl=docker, and with
// whisk.limits.actions.time.max=10m. The chart's own text is elided: its
// comments, the bodies of its scripts and configuration files, and the
// runtimes manifest; every object and its structure are as rendered.
var goldenCases = []struct {
	name, input string
	factory     Factory
	opt         Options
}{
	{"docker", "owdev-docker.yaml", FactoryDocker, Options{ShimImage: "epilogue/shim:0.1.0"}},
	{"kubernetes", "owdev-kubernetes.yaml", FactoryKubernetes, Options{}},
	{"kubernetes-long-limit", "owdev-kubernetes-10m.yaml", FactoryKubernetes, Options{MaxLinger: 2 * time.Minute}},
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestPostRenderGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			in := readTestdata(t, tc.input)
			res, err := PostRender(in, tc.opt)
			require.NoError(t, err)
			assert.Equal(t, tc.factory, res.Factory)
			assert.Equal(t, []string{map[Factory]string{FactoryDocker: "DaemonSet", FactoryKubernetes: "StatefulSet"}[tc.factory] + " owdev-invoker"}, res.Invokers)

			golden := filepath.Join("testdata", "golden", tc.name+".yaml")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, res.Manifests, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run go test ./kube -run Golden -update")
			assert.Equal(t, string(want), string(res.Manifests), "the output differs from %s (go test ./kube -run Golden -update rewrites it; review the diff)", golden)

			objs := decodeStrict(t, res.Manifests)
			assertOthersUnchanged(t, in, res.Manifests)
			switch tc.factory {
			case FactoryDocker:
				assertDockerInvariants(t, objs, tc.opt)
			case FactoryKubernetes:
				assertKubernetesInvariants(t, in, objs, tc.opt, res.GracePeriod)
			}
		})
	}
}

// decodeStrict decodes every object of a stream into its k8s.io/api type,
// refusing unknown fields, and returns them by "Kind name".
func decodeStrict(t *testing.T, stream []byte) map[string]any {
	t.Helper()
	objs := map[string]any{}
	for i, d := range splitDocuments(stream) {
		h, err := d.header()
		require.NoError(t, err, "document %d", i)
		if h.Kind == "" {
			continue
		}
		var obj any
		switch h.Kind {
		case "DaemonSet":
			obj = &appsv1.DaemonSet{}
		case "StatefulSet":
			obj = &appsv1.StatefulSet{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		case "Secret":
			obj = &corev1.Secret{}
		case "Service":
			obj = &corev1.Service{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		case "Pod":
			obj = &corev1.Pod{}
		case "Job":
			obj = &batchv1.Job{}
		case "Ingress":
			obj = &networkingv1.Ingress{}
		case "NetworkPolicy":
			obj = &networkingv1.NetworkPolicy{}
		case "Role":
			obj = &rbacv1.Role{}
		case "RoleBinding":
			obj = &rbacv1.RoleBinding{}
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		default:
			t.Fatalf("document %d: %s: add its k8s.io/api type to decodeStrict", i, h.describe())
		}
		require.NoError(t, yaml.UnmarshalStrict(d.body, obj), "document %d: %s does not decode strictly", i, h.describe())
		objs[h.describe()] = obj
	}
	return objs
}

// assertOthersUnchanged: every object of the input but the invoker comes
// out byte for byte, in the same order.
func assertOthersUnchanged(t *testing.T, in, out []byte) {
	t.Helper()
	var inDocs, outDocs []document
	for _, d := range splitDocuments(in) {
		if h, _ := d.header(); h.Metadata.Name != "owdev-invoker" || (h.Kind != "DaemonSet" && h.Kind != "StatefulSet") {
			inDocs = append(inDocs, d)
		}
	}
	for _, d := range splitDocuments(out) {
		h, _ := d.header()
		if h.Metadata.Name == "owdev-invoker" && (h.Kind == "DaemonSet" || h.Kind == "StatefulSet") {
			continue
		}
		if h.Kind == "ConfigMap" && h.Metadata.Name == "owdev-epilogue-action-pod" {
			continue
		}
		outDocs = append(outDocs, d)
	}
	require.Len(t, outDocs, len(inDocs))
	require.Greater(t, len(inDocs), 10, "the input should be a whole deploy-kube release")
	for i := range inDocs {
		assert.Equal(t, inDocs[i], outDocs[i], "document %d changed", i)
	}
}

func container(cs []corev1.Container, name string) *corev1.Container {
	i := slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == name })
	if i < 0 {
		return nil
	}
	return &cs[i]
}

func volume(spec corev1.PodSpec, name string) *corev1.Volume {
	i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
	if i < 0 {
		return nil
	}
	return &spec.Volumes[i]
}

func envOf(c *corev1.Container, name string) (string, bool) { return env(c, name) }

// mountsDockerSocket reports whether c reaches the node's Docker socket.
func mountsDockerSocket(spec corev1.PodSpec, c *corev1.Container) bool {
	for _, m := range c.VolumeMounts {
		if v := volume(spec, m.Name); v != nil && v.HostPath != nil && filepath.Clean(v.HostPath.Path) == dockerSocket {
			return true
		}
		if filepath.Clean(m.MountPath) == dockerSocket {
			return true
		}
	}
	return false
}

func assertDockerInvariants(t *testing.T, objs map[string]any, opt Options) {
	ds, ok := objs["DaemonSet owdev-invoker"].(*appsv1.DaemonSet)
	require.True(t, ok, "no invoker DaemonSet in the output")
	spec := ds.Spec.Template.Spec
	inv := container(spec.Containers, InvokerContainer)
	require.NotNil(t, inv)

	// The invoker reaches the daemon only through the shim.
	assert.False(t, mountsDockerSocket(spec, inv), "the invoker still mounts the node's Docker socket")
	host, ok := envOf(inv, "DOCKER_HOST")
	require.True(t, ok, "the invoker has no DOCKER_HOST")
	assert.Equal(t, ShimDockerHost, host)

	shim := container(spec.InitContainers, ShimContainer)
	require.NotNil(t, shim, "no %s init container", ShimContainer)
	require.NotNil(t, shim.RestartPolicy, "the shim is not a native sidecar")
	assert.Equal(t, corev1.ContainerRestartPolicyAlways, *shim.RestartPolicy)
	assert.Equal(t, opt.ShimImage, shim.Image)
	assert.Contains(t, shim.Args, "--listen="+host, "the shim does not serve the invoker's DOCKER_HOST")
	assert.Contains(t, shim.Args, "--docker=unix://"+dockerSocket)
	assert.Contains(t, shim.Args, "--max-linger="+reclaim.DefaultMaxLinger.String())
	assert.True(t, mountsDockerSocket(spec, shim), "the shim does not mount the node's Docker socket")

	// The socket directory is one emptyDir, shared by the two.
	sockDir := strings.TrimSuffix(strings.TrimPrefix(host, "unix://"), "/docker.sock")
	shared := func(c *corev1.Container) string {
		for _, m := range c.VolumeMounts {
			if m.MountPath == sockDir {
				return m.Name
			}
		}
		return ""
	}
	require.NotEmpty(t, shared(inv), "the invoker does not mount %s", sockDir)
	assert.Equal(t, shared(inv), shared(shim), "the invoker and the shim mount different volumes at %s", sockDir)
	v := volume(spec, shared(inv))
	require.NotNil(t, v)
	assert.NotNil(t, v.EmptyDir, "the shared socket directory is not an emptyDir")

	// Among the long-running containers, only the shim reaches the daemon.
	for _, c := range slices.Concat(spec.Containers, spec.InitContainers) {
		long := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways || container(spec.Containers, c.Name) != nil
		if long && c.Name != ShimContainer {
			assert.False(t, mountsDockerSocket(spec, &c), "%s mounts the Docker socket", c.Name)
		}
	}
	// The shim comes after the init containers that must finish first.
	assert.Equal(t, ShimContainer, spec.InitContainers[len(spec.InitContainers)-1].Name)

	// Journal per node, key from a Secret, probes and resources.
	journal := ""
	for _, m := range shim.VolumeMounts {
		if v := volume(spec, m.Name); v != nil && v.HostPath != nil && m.MountPath == shimJournalDir {
			journal = v.HostPath.Path
		}
	}
	assert.Equal(t, "/var/lib/epilogue-shim/owdev", journal, "the journal is not on a per-node hostPath")
	assert.Contains(t, shim.Args, "--journal="+shimJournalDir)
	assert.Contains(t, shim.Args, "--notify-key="+shimKeyDir+"/"+NotifyKeyFile)
	key := slices.IndexFunc(shim.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.MountPath == shimKeyDir
	})
	require.GreaterOrEqual(t, key, 0, "the notify key is not mounted where --notify-key reads it")
	kv := volume(spec, shim.VolumeMounts[key].Name)
	require.NotNil(t, kv)
	require.NotNil(t, kv.Secret, "the notify key is not from a Secret")
	assert.Equal(t, "owdev-epilogue-shim", kv.Secret.SecretName)
	assert.True(t, shim.VolumeMounts[key].ReadOnly)
	for name, p := range map[string]*corev1.Probe{"startup": shim.StartupProbe, "readiness": shim.ReadinessProbe, "liveness": shim.LivenessProbe} {
		require.NotNil(t, p, "no %s probe", name)
		require.NotNil(t, p.TCPSocket, "%s probe", name)
		assert.Equal(t, shimEventsPort, p.TCPSocket.Port.StrVal)
	}
	assert.Contains(t, shim.Args, "--notify-listen=$(POD_IP):7543")
	assert.False(t, shim.Resources.Requests.Memory().IsZero())
	assert.False(t, shim.Resources.Limits.Memory().IsZero())
	useRunc, _ := envOf(inv, envUseRunc)
	assert.Equal(t, "false", useRunc)
}

func assertKubernetesInvariants(t *testing.T, in []byte, objs map[string]any, opt Options, grace time.Duration) {
	ss, ok := objs["StatefulSet owdev-invoker"].(*appsv1.StatefulSet)
	require.True(t, ok, "no invoker StatefulSet in the output")
	spec := ss.Spec.Template.Spec
	inv := container(spec.Containers, InvokerContainer)
	require.NotNil(t, inv)

	// The invoker reads the template from the file the ConfigMap provides.
	file, ok := envOf(inv, envPodTemplate)
	require.True(t, ok, "the invoker has no %s", envPodTemplate)
	path, ok := strings.CutPrefix(file, "file:")
	require.True(t, ok, "%s=%q is not a file", envPodTemplate, file)
	dir, name := filepath.Split(path)
	mount := slices.IndexFunc(inv.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == filepath.Clean(dir) })
	require.GreaterOrEqual(t, mount, 0, "the invoker does not mount %s", dir)
	v := volume(spec, inv.VolumeMounts[mount].Name)
	require.NotNil(t, v)
	require.NotNil(t, v.ConfigMap, "%s is not a ConfigMap volume", dir)
	cm, ok := objs["ConfigMap "+v.ConfigMap.Name].(*corev1.ConfigMap)
	require.True(t, ok, "ConfigMap %s is not in the output", v.ConfigMap.Name)
	var pod corev1.Pod
	require.NoError(t, yaml.UnmarshalStrict([]byte(cm.Data[name]), &pod), "the action pod template")
	assert.Equal(t, "Pod", pod.Kind)
	assert.Equal(t, semantics, pod.Labels[LabelSemantics])
	assert.Equal(t, cm.Namespace, ss.Namespace)

	// Grace ≥ the chart's longest time limit + the linger bound.
	var chartLimit time.Duration
	for _, d := range splitDocuments(in) {
		if h, _ := d.header(); h.Kind == "StatefulSet" && h.Metadata.Name == "owdev-invoker" {
			var orig appsv1.StatefulSet
			require.NoError(t, yaml.Unmarshal(d.body, &orig))
			v, ok := envOf(container(orig.Spec.Template.Spec.Containers, InvokerContainer), envTimeLimitMax)
			require.True(t, ok)
			var err error
			chartLimit, err = parseHOCONDuration(v)
			require.NoError(t, err)
		}
	}
	require.NotZero(t, chartLimit)
	linger := opt.MaxLinger
	if linger == 0 {
		linger = reclaim.DefaultMaxLinger
	}
	require.NotNil(t, pod.Spec.TerminationGracePeriodSeconds)
	got := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	assert.GreaterOrEqual(t, got, chartLimit+linger)
	assert.Equal(t, chartLimit+linger, grace)

	// The semantics reach every action container through the invoker's
	// extra env vars; the chart's own entry stays.
	var extra []string
	for _, e := range inv.Env {
		if strings.HasPrefix(e.Name, envExtraEnvPrefix) {
			extra = append(extra, e.Value)
		}
	}
	assert.Contains(t, extra, "EPILOGUE_SEMANTICS=isolated")
	assert.Contains(t, extra, "__OW_ALLOW_CONCURRENT=false")
	assert.NotEmpty(t, ss.Spec.Template.Annotations[AnnotationActionPod])
	for _, c := range spec.InitContainers {
		assert.NotEqual(t, ShimContainer, c.Name, "no shim under the kubernetes factory")
	}
}

// Patching the output again changes nothing.
func TestPostRenderIdempotent(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			once, err := PostRender(readTestdata(t, tc.input), tc.opt)
			require.NoError(t, err)
			twice, err := PostRender(once.Manifests, tc.opt)
			require.NoError(t, err)
			assert.Equal(t, string(once.Manifests), string(twice.Manifests))
		})
	}
}

// The grace period follows the chart's limit and the flags, not a constant.
func TestGracePeriodFromValues(t *testing.T) {
	in := readTestdata(t, "owdev-kubernetes.yaml")
	tests := []struct {
		chartMax string
		opt      Options
		want     time.Duration
	}{
		{"5m", Options{}, 10 * time.Minute},
		{"300 s", Options{MaxLinger: time.Minute}, 6 * time.Minute},
		{"10 minutes", Options{}, 15 * time.Minute},
		{"90s", Options{MaxLinger: 1500 * time.Millisecond}, 92 * time.Second},
		{"5m", Options{MaxTimeLimit: 20 * time.Minute}, 25 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.chartMax, func(t *testing.T) {
			src := bytes.Replace(in, []byte(invokerTimeLimit("5m")), []byte(invokerTimeLimit(tt.chartMax)), 1)
			require.NotEqual(t, tt.chartMax != "5m", bytes.Equal(src, in), "the invoker's time.max was not replaced")
			res, err := PostRender(src, tt.opt)
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.GracePeriod)
			want := int64((tt.want + time.Second - 1) / time.Second)
			assert.True(t, bytes.Contains(res.Manifests, []byte("terminationGracePeriodSeconds: "+strconv.FormatInt(want, 10)+"\n")),
				"no terminationGracePeriodSeconds: %d in the output", want)
		})
	}
}

// invokerTimeLimit is whisk.limits.actions.time.max as the chart renders
// it into the invoker (the controller's is indented less).
func invokerTimeLimit(v string) string {
	return "          - name: \"CONFIG_whisk_timeLimit_max\"\n            value: \"" + v + "\"\n"
}

func TestPostRenderErrors(t *testing.T) {
	docker := string(readTestdata(t, "owdev-docker.yaml"))
	kubernetes := string(readTestdata(t, "owdev-kubernetes.yaml"))
	tests := []struct {
		name, in string
		opt      Options
		is       error
		want     []string
	}{
		{"empty", "", Options{}, ErrNoInvoker, []string{"found no objects", `container named "invoker"`}},
		{"only a service", "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: owdev-controller\nspec:\n  ports:\n  - port: 8080\n", Options{}, ErrNoInvoker,
			[]string{"1 objects: Service owdev-controller", "DaemonSet", "StatefulSet"}},
		{"a StatefulSet of another container", strings.Replace(kubernetes, "- name: invoker\n", "- name: not-the-invoker\n", 1), Options{}, ErrNoInvoker,
			[]string{"StatefulSet owdev-invoker"}},
		{"useRunc true", strings.Replace(docker, "name: \"CONFIG_whisk_docker_containerFactory_useRunc\"\n            value: \"false\"", "name: \"CONFIG_whisk_docker_containerFactory_useRunc\"\n            value: \"true\"", 1), Options{}, nil,
			[]string{"runc pauses bypass the Docker daemon", "useRunc: false"}},
		{"use-runc in invoker.options", strings.Replace(docker, `value: " -Dwhisk.spi`, `value: "-Dwhisk.docker.container-factory.use-runc=true -Dwhisk.spi`, 1), Options{}, nil,
			[]string{"invoker.options sets -Dwhisk.docker.container-factory.use-runc=true"}},
		{"no docker socket volume", strings.Replace(docker, `path: "/var/run/docker.sock"`, `path: "/var/run/other.sock"`, 1), Options{}, nil,
			[]string{"no hostPath volume of the node's /var/run/docker.sock"}},
		{"time limit flag below the chart's", kubernetes, Options{MaxTimeLimit: time.Minute}, nil,
			[]string{"--max-time-limit 1m0s is below the chart's whisk.limits.actions.time.max (5m)"}},
		{"a pod template of the operator's", strings.Replace(kubernetes, "          - name: \"PORT\"\n", "          - name: \"CONFIG_whisk_kubernetes_podTemplate\"\n            value: \"file:/mine.yaml\"\n          - name: \"PORT\"\n", 1), Options{}, nil,
			[]string{"already has an action pod template", "file:/mine.yaml"}},
		{"an unparsable limit", strings.Replace(kubernetes, invokerTimeLimit("5m"), invokerTimeLimit("five minutes"), 1), Options{}, nil,
			[]string{"CONFIG_whisk_timeLimit_max", "five minutes"}},
		{"not YAML", "---\nkind: [\n", Options{}, nil, []string{"document 2 is not YAML"}},
		{"linger below the cancel grace", kubernetes, Options{MaxLinger: time.Millisecond}, nil, []string{"below the runtime's cancel grace"}},
		{"a bad pull policy", docker, Options{ShimPullPolicy: "Sometimes"}, nil, []string{`"Sometimes"`, "IfNotPresent"}},
		{"a bad quantity", docker, Options{MemoryLimit: "lots"}, nil, []string{`shim memory limit "lots"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PostRender([]byte(tt.in), tt.opt)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseHOCONDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true},
		{"300 s", 300 * time.Second, true},
		{"1 minute", time.Minute, true},
		{"10 minutes", 10 * time.Minute, true},
		{"100ms", 100 * time.Millisecond, true},
		{"1500", 1500 * time.Millisecond, true},
		{"2h", 2 * time.Hour, true},
		{"1.5m", 90 * time.Second, true},
		{"", 0, false},
		{"m", 0, false},
		{"5 fortnights", 0, false},
		{"-5m", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseHOCONDuration(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 1},
		{"a: 1\n", 1},
		{"---\na: 1\n", 2},
		{"---\na: 1\n---\nb: 2", 3},
		{"--- # c\na: 1\n---\r\nb: 2\n", 3},
		{"a: '---'\nb: |\n  ---x\n", 1},
	}
	for _, tt := range tests {
		docs := splitDocuments([]byte(tt.in))
		assert.Len(t, docs, tt.want, "%q", tt.in)
		assert.Equal(t, tt.in, string(joinDocuments(docs)))
	}
}

// FuzzPostRender: on any input the post-renderer returns or fails, never
// panics; what it returns splits back into its input's documents and
// patching it again changes nothing.
func FuzzPostRender(f *testing.F) {
	// Small seeds: the whole releases (190 KB) make each run slow.
	f.Add(readTestdata(f, "minimal-docker.yaml"))
	f.Add(readTestdata(f, "minimal-kubernetes.yaml"))
	f.Add([]byte("---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: invoker\n"))
	f.Add([]byte("---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: invoker\n"))
	f.Add([]byte("--- #\n---\n\n...\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		assert.Equal(t, string(in), string(joinDocuments(splitDocuments(in))))
		res, err := PostRender(in, Options{})
		if err != nil {
			return
		}
		again, err := PostRender(res.Manifests, Options{})
		require.NoError(t, err, "the output of a successful patch does not patch again")
		assert.Equal(t, string(res.Manifests), string(again.Manifests))
	})
}
