package kubetest

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/epilogue-dev/epilogue/kube"
)

// The contract, as docs/kubernetes.md states it.
const (
	dockerSocket      = "/var/run/docker.sock"
	shimSocket        = "unix:///run/epilogue/docker.sock"
	shimJournalDir    = "/var/lib/epilogue-shim"
	shimKeyDir        = "/etc/epilogue-shim"
	shimEventsPort    = "shim-events"
	shimNotifyListen  = "--notify-listen=$(POD_IP):7543"
	shimMetricsListen = "--metrics-listen=$(POD_IP):9464"
	envUseRunc        = "CONFIG_whisk_docker_containerFactory_useRunc"
	envPodTemplate    = "CONFIG_whisk_kubernetes_podTemplate"
	envExtraEnv       = "CONFIG_whisk_containerFactory_containerArgs_extraEnvVars_"
	semantics         = "isolated"
	envTasksRedis     = "EPILOGUE_TASKS_REDIS"
	envTasksLease     = "EPILOGUE_TASKS_LEASE"
	envTasksAuth      = "EPILOGUE_TASKS_AUTH"
)

// Object is one document of a rendered stream.
type Object struct {
	// Doc is the document's text between its separators, comments included.
	Doc []byte
	// ID is "Kind name", or "" for a document without an object.
	ID string
}

// Split returns a stream's documents in order, as Kubernetes' YAML reader
// splits them.
func Split(t testing.TB, stream []byte) []Object {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objs []Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		require.NoError(t, err)
		var h struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		require.NoError(t, yaml.Unmarshal(doc, &h), "document %d is not YAML", len(objs)+1)
		o := Object{Doc: doc}
		if h.Kind != "" {
			o.ID = h.Kind + " " + h.Metadata.Name
		}
		objs = append(objs, o)
	}
}

// newObject is the k8s.io/api type of a kind deploy-kube renders.
func newObject(kind string) (any, bool) {
	switch kind {
	case "DaemonSet":
		return &appsv1.DaemonSet{}, true
	case "StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "Deployment":
		return &appsv1.Deployment{}, true
	case "ConfigMap":
		return &corev1.ConfigMap{}, true
	case "Secret":
		return &corev1.Secret{}, true
	case "Service":
		return &corev1.Service{}, true
	case "ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "Pod":
		return &corev1.Pod{}, true
	case "Job":
		return &batchv1.Job{}, true
	case "Ingress":
		return &networkingv1.Ingress{}, true
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "Role":
		return &rbacv1.Role{}, true
	case "RoleBinding":
		return &rbacv1.RoleBinding{}, true
	case "ClusterRole":
		return &rbacv1.ClusterRole{}, true
	case "ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, true
	}
	return nil, false
}

// DecodeStrict decodes every object of a stream into its k8s.io/api type,
// refusing unknown fields and unknown kinds, and returns them by "Kind
// name".
func DecodeStrict(t testing.TB, stream []byte) map[string]any {
	t.Helper()
	objs := map[string]any{}
	for i, o := range Split(t, stream) {
		if o.ID == "" {
			continue
		}
		kind, _, _ := strings.Cut(o.ID, " ")
		obj, ok := newObject(kind)
		require.True(t, ok, "document %d: %s: no k8s.io/api type for its kind (add it to kubetest.newObject)", i+1, o.ID)
		require.NoError(t, yaml.UnmarshalStrict(o.Doc, obj), "document %d: %s does not decode strictly", i+1, o.ID)
		require.NotContains(t, objs, o.ID, "document %d: %s twice", i+1, o.ID)
		objs[o.ID] = obj
	}
	return objs
}

// isInvoker reports whether id is the release's invoker workload.
func isInvoker(id, release string) bool {
	return id == "DaemonSet "+release+"-invoker" || id == "StatefulSet "+release+"-invoker"
}

// ActionPodConfigMap is the ConfigMap the kubernetes factory's patch adds.
func ActionPodConfigMap(release string) string {
	return "ConfigMap " + release + "-epilogue-action-pod"
}

// AssertOthersUnchanged: every object of before but the invoker is in
// after byte for byte, in the same order, and after adds nothing but the
// action pod template's ConfigMap, the recoverer's Deployment and the task
// store's Secret.
func AssertOthersUnchanged(t testing.TB, before, after []byte, release string) {
	t.Helper()
	others := func(stream []byte) [][]byte {
		var docs [][]byte
		for _, o := range Split(t, stream) {
			if o.ID == "" || isInvoker(o.ID, release) || o.ID == ActionPodConfigMap(release) || o.ID == RecovererDeployment(release) || o.ID == TasksSecret(release) {
				continue
			}
			docs = append(docs, o.Doc)
		}
		return docs
	}
	b, a := others(before), others(after)
	require.NotEmpty(t, b, "no objects besides the invoker: the test needs a whole release")
	require.Len(t, a, len(b), "the post-renderer added or dropped objects")
	for i := range b {
		assert.Equal(t, string(b[i]), string(a[i]), "object %d changed", i+1)
	}
}

// Docker is what a docker factory patch is checked against.
type Docker struct {
	Release, ShimImage string
	MaxLinger          time.Duration
	// Before are the decoded objects the post-renderer was given.
	Before map[string]any
}

// Kubernetes is what a kubernetes factory patch is checked against.
type Kubernetes struct {
	Release string
	// TimeLimit is the chart's whisk.limits.actions.time.max.
	TimeLimit, MaxLinger time.Duration
}

// Container returns the container named name, or nil.
func Container(cs []corev1.Container, name string) *corev1.Container {
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

// Env returns the value of c's variable name.
func Env(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// mountsDockerSocket reports whether c reaches the node's Docker socket.
func mountsDockerSocket(spec corev1.PodSpec, c *corev1.Container) bool {
	for _, m := range c.VolumeMounts {
		if v := volume(spec, m.Name); v != nil && v.HostPath != nil && path.Clean(v.HostPath.Path) == dockerSocket {
			return true
		}
		if path.Clean(m.MountPath) == dockerSocket {
			return true
		}
	}
	return false
}

// invoker returns the release's invoker workload of kind in objs: its
// metadata, its pod template and its invoker container.
func invoker(t testing.TB, objs map[string]any, kind, release string) (metav1.ObjectMeta, *corev1.PodTemplateSpec, *corev1.Container) {
	t.Helper()
	id := kind + " " + release + "-invoker"
	var (
		meta metav1.ObjectMeta
		tmpl *corev1.PodTemplateSpec
	)
	switch o := objs[id].(type) {
	case *appsv1.DaemonSet:
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
	case *appsv1.StatefulSet:
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
	}
	require.NotNil(t, tmpl, "no %s in the output", id)
	inv := Container(tmpl.Spec.Containers, kube.InvokerContainer)
	require.NotNil(t, inv, "%s has no %s container", id, kube.InvokerContainer)
	return meta, tmpl, inv
}

// AssertDocker checks the docker factory's patch of objs.
func AssertDocker(t testing.TB, objs map[string]any, want Docker) {
	t.Helper()
	_, tmpl, inv := invoker(t, objs, "DaemonSet", want.Release)
	spec := tmpl.Spec

	// The invoker reaches the daemon only through the shim.
	assert.False(t, mountsDockerSocket(spec, inv), "the invoker still mounts the node's Docker socket")
	host, ok := Env(inv, "DOCKER_HOST")
	require.True(t, ok, "the invoker has no DOCKER_HOST")
	assert.Equal(t, shimSocket, host)
	useRunc, _ := Env(inv, envUseRunc)
	assert.Equal(t, "false", useRunc)

	shim := Container(spec.InitContainers, kube.ShimContainer)
	require.NotNil(t, shim, "no %s init container", kube.ShimContainer)
	require.NotNil(t, shim.RestartPolicy, "the shim is not a native sidecar")
	assert.Equal(t, corev1.ContainerRestartPolicyAlways, *shim.RestartPolicy)
	assert.Equal(t, want.ShimImage, shim.Image)
	assert.Contains(t, shim.Args, "--listen="+host, "the shim does not serve the invoker's DOCKER_HOST")
	assert.Contains(t, shim.Args, "--docker=unix://"+dockerSocket)
	assert.Contains(t, shim.Args, "--max-linger="+want.MaxLinger.String())
	assert.True(t, mountsDockerSocket(spec, shim), "the shim does not mount the node's Docker socket")

	// The socket directory is one emptyDir, shared by the two.
	sockDir := path.Dir(strings.TrimPrefix(host, "unix://"))
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

	// Among the long-running containers only the shim reaches the daemon;
	// an init container that runs to completion (docker-pull-runtimes) may.
	for _, c := range slices.Concat(spec.Containers, spec.InitContainers) {
		long := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways || Container(spec.Containers, c.Name) != nil
		if long && c.Name != kube.ShimContainer {
			assert.False(t, mountsDockerSocket(spec, &c), "%s mounts the Docker socket", c.Name)
		}
	}
	// The shim starts after the chart's own init containers, which are
	// left as they were.
	_, orig, _ := invoker(t, want.Before, "DaemonSet", want.Release)
	assert.Equal(t, append(slices.Clone(orig.Spec.InitContainers), *shim), spec.InitContainers,
		"the init containers are not the chart's, in order, then the shim")

	// Journal per node, key from a Secret, probes and resources.
	journal := ""
	for _, m := range shim.VolumeMounts {
		if v := volume(spec, m.Name); v != nil && v.HostPath != nil && m.MountPath == shimJournalDir {
			journal = v.HostPath.Path
		}
	}
	assert.Equal(t, shimJournalDir+"/"+want.Release, journal, "the journal is not on a per-node hostPath")
	assert.Contains(t, shim.Args, "--journal="+shimJournalDir)
	assert.Contains(t, shim.Args, "--notify-key="+shimKeyDir+"/"+kube.NotifyKeyFile)
	key := slices.IndexFunc(shim.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.MountPath == shimKeyDir
	})
	require.GreaterOrEqual(t, key, 0, "the notify key is not mounted where --notify-key reads it")
	kv := volume(spec, shim.VolumeMounts[key].Name)
	require.NotNil(t, kv)
	require.NotNil(t, kv.Secret, "the notify key is not from a Secret")
	assert.Equal(t, want.Release+"-epilogue-shim", kv.Secret.SecretName)
	assert.True(t, shim.VolumeMounts[key].ReadOnly)
	for name, p := range map[string]*corev1.Probe{"startup": shim.StartupProbe, "readiness": shim.ReadinessProbe, "liveness": shim.LivenessProbe} {
		require.NotNil(t, p, "no %s probe", name)
		require.NotNil(t, p.TCPSocket, "%s probe", name)
		assert.Equal(t, shimEventsPort, p.TCPSocket.Port.StrVal)
	}
	assert.Contains(t, shim.Args, shimNotifyListen)
	assert.Contains(t, shim.Args, shimMetricsListen, "Prometheus scrapes the shim on the pod's IP")
	assert.False(t, shim.Resources.Requests.Cpu().IsZero(), "no CPU request")
	assert.False(t, shim.Resources.Requests.Memory().IsZero(), "no memory request")
	assert.False(t, shim.Resources.Limits.Memory().IsZero(), "no memory limit")
}

// AssertKubernetes checks the kubernetes factory's patch of objs.
func AssertKubernetes(t testing.TB, objs map[string]any, want Kubernetes) {
	t.Helper()
	meta, tmpl, inv := invoker(t, objs, "StatefulSet", want.Release)
	spec := tmpl.Spec

	// The invoker reads the template from the file the ConfigMap provides.
	file, ok := Env(inv, envPodTemplate)
	require.True(t, ok, "the invoker has no %s", envPodTemplate)
	p, ok := strings.CutPrefix(file, "file:")
	require.True(t, ok, "%s=%q is not a file", envPodTemplate, file)
	dir, name := path.Split(p)
	mount := slices.IndexFunc(inv.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == path.Clean(dir) })
	require.GreaterOrEqual(t, mount, 0, "the invoker does not mount %s", dir)
	v := volume(spec, inv.VolumeMounts[mount].Name)
	require.NotNil(t, v)
	require.NotNil(t, v.ConfigMap, "%s is not a ConfigMap volume", dir)
	require.Equal(t, ActionPodConfigMap(want.Release), "ConfigMap "+v.ConfigMap.Name)
	cm, ok := objs["ConfigMap "+v.ConfigMap.Name].(*corev1.ConfigMap)
	require.True(t, ok, "ConfigMap %s is not in the output", v.ConfigMap.Name)
	assert.Equal(t, meta.Namespace, cm.Namespace)
	assert.Equal(t, want.Release, cm.Labels["release"])
	var pod corev1.Pod
	require.NoError(t, yaml.UnmarshalStrict([]byte(cm.Data[name]), &pod), "the action pod template")
	assert.Equal(t, "Pod", pod.Kind)
	assert.Equal(t, semantics, pod.Labels[kube.LabelSemantics])

	// Grace ≥ the chart's longest time limit + the linger bound.
	require.NotNil(t, pod.Spec.TerminationGracePeriodSeconds, "the action pods have no grace period")
	grace := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	assert.GreaterOrEqual(t, grace, want.TimeLimit+want.MaxLinger,
		"the grace period does not cover the time limit (%s) + the linger bound (%s)", want.TimeLimit, want.MaxLinger)

	// The semantics reach every action container through the invoker's
	// extra env vars; the chart's own entry stays.
	var extra []string
	for _, e := range inv.Env {
		if strings.HasPrefix(e.Name, envExtraEnv) {
			extra = append(extra, e.Value)
		}
	}
	assert.Contains(t, extra, "EPILOGUE_SEMANTICS="+semantics)
	assert.Contains(t, extra, "__OW_ALLOW_CONCURRENT=false")
	assert.NotEmpty(t, tmpl.Annotations[kube.AnnotationActionPod], "a changed template would not roll the invoker")
	for _, c := range spec.InitContainers {
		assert.NotEqual(t, kube.ShimContainer, c.Name, "no shim under the kubernetes factory")
	}
}

// GracePeriod is the action pods' grace period the kubernetes patch wrote.
func GracePeriod(t testing.TB, objs map[string]any, release string) time.Duration {
	t.Helper()
	cm, ok := objs[ActionPodConfigMap(release)].(*corev1.ConfigMap)
	require.True(t, ok, "no %s", ActionPodConfigMap(release))
	var pod corev1.Pod
	require.NoError(t, yaml.UnmarshalStrict([]byte(cm.Data["action-pod.yaml"]), &pod))
	require.NotNil(t, pod.Spec.TerminationGracePeriodSeconds)
	return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
}

// RecovererDeployment is the Deployment --tasks-redis adds.
func RecovererDeployment(release string) string {
	return "Deployment " + release + "-epilogue-recoverer"
}

// TasksSecret is the ID of the Secret holding the task store's address.
func TasksSecret(release string) string {
	return "Secret " + release + "-epilogue-tasks"
}

// secretValue is e's value: its literal, or the key of a Secret in objs
// it refers to (data or stringData, as the API server merges them).
func secretValue(t testing.TB, objs map[string]any, e corev1.EnvVar) string {
	t.Helper()
	if e.ValueFrom == nil {
		return e.Value
	}
	ref := e.ValueFrom.SecretKeyRef
	require.NotNil(t, ref, "env %s: a value from something but a Secret", e.Name)
	secret, ok := objs["Secret "+ref.Name].(*corev1.Secret)
	require.True(t, ok, "env %s refers to Secret %s, which the stream does not hold", e.Name, ref.Name)
	if v, ok := secret.StringData[ref.Key]; ok {
		return v
	}
	v, ok := secret.Data[ref.Key]
	require.True(t, ok, "env %s refers to key %s, which Secret %s does not hold", e.Name, ref.Key, ref.Name)
	return string(v)
}

// Recoverer is what the durable-task wiring is checked against; a zero
// TasksRedis means none was asked for. Zero Lease, Image and AuthKey are
// the defaults.
type Recoverer struct {
	Release, TasksRedis, Image, AuthKey string
	Lease                               time.Duration
}

// AssertRecoverer checks the durable-task wiring of objs: the recoverer's
// Deployment exists exactly when asked for, runs epilogue tasks recover
// against the release's controller Service with the key of deploy-kube's
// auth Secret (a reference, never a literal) and the actions' lease, with
// a health check, resources and the release's labels; and every action
// container is given the store and the lease.
func AssertRecoverer(t testing.TB, objs map[string]any, want Recoverer) {
	t.Helper()
	_, _, inv := invokerOf(t, objs, want.Release)
	extra := map[string]string{}
	for _, e := range inv.Env {
		if strings.HasPrefix(e.Name, envExtraEnv) {
			k, v, _ := strings.Cut(secretValue(t, objs, e), "=")
			extra[k] = v
			if want.TasksRedis != "" {
				// A redis:// URL may carry a password: never literal in a pod spec.
				assert.NotContains(t, e.Value, want.TasksRedis, "the invoker's env holds the task store's address literally")
			}
		}
	}
	d, ok := objs[RecovererDeployment(want.Release)].(*appsv1.Deployment)
	if want.TasksRedis == "" {
		assert.False(t, ok, "a recoverer was not asked for")
		assert.NotContains(t, extra, envTasksRedis, "the actions were given a task store not asked for")
		return
	}
	lease := cmp.Or(want.Lease, 30*time.Second)
	assert.Equal(t, want.TasksRedis, extra[envTasksRedis], "the actions' task store")
	assert.Equal(t, lease.String(), extra[envTasksLease], "the actions' lease")

	require.True(t, ok, "no %s", RecovererDeployment(want.Release))
	require.NotNil(t, d.Spec.Replicas)
	assert.GreaterOrEqual(t, *d.Spec.Replicas, int32(1))
	require.NotNil(t, d.Spec.Selector)
	for k, v := range d.Spec.Selector.MatchLabels {
		assert.Equal(t, v, d.Spec.Template.Labels[k], "the selector does not select the pods")
	}
	assert.Equal(t, want.Release, d.Labels["release"])
	assert.Equal(t, want.Release, d.Spec.Template.Labels["release"])
	c := Container(d.Spec.Template.Spec.Containers, kube.RecovererContainer)
	require.NotNil(t, c, "no %s container", kube.RecovererContainer)
	assert.Equal(t, cmp.Or(want.Image, "epilogue/epilogue:latest"), c.Image)
	assert.Equal(t, []string{"/bin/epilogue"}, c.Command)
	require.GreaterOrEqual(t, len(c.Args), 2)
	assert.Equal(t, []string{"tasks", "recover"}, c.Args[:2])

	// --apihost names the release's controller Service, on its http port.
	svc, ok := objs["Service "+want.Release+"-controller"].(*corev1.Service)
	require.True(t, ok, "the release has no controller Service")
	port := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" })
	require.GreaterOrEqual(t, port, 0)
	assert.Contains(t, c.Args, fmt.Sprintf("--apihost=http://%s:%d", svc.Name, svc.Spec.Ports[port].Port))
	assert.Contains(t, c.Args, "--lease="+lease.String(), "the recoverer's lease is not the actions'")

	// The store is the actions'; the key comes from the Secret.
	var auth *corev1.EnvVar
	for i, e := range c.Env {
		switch e.Name {
		case envTasksRedis:
			assert.Empty(t, e.Value, "the task store's address is a literal")
			assert.Equal(t, want.TasksRedis, secretValue(t, objs, e))
		case envTasksAuth:
			auth = &c.Env[i]
		}
	}
	require.NotNil(t, auth, "the recoverer has no %s", envTasksAuth)
	assert.Empty(t, auth.Value, "the key is a literal")
	require.NotNil(t, auth.ValueFrom)
	require.NotNil(t, auth.ValueFrom.SecretKeyRef, "the key does not come from a Secret")
	secret, ok := objs["Secret "+auth.ValueFrom.SecretKeyRef.Name].(*corev1.Secret)
	require.True(t, ok, "the Secret %s is not deploy-kube's", auth.ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, want.Release+"-whisk.auth", secret.Name)
	assert.Equal(t, cmp.Or(want.AuthKey, "guest"), auth.ValueFrom.SecretKeyRef.Key)
	assert.Contains(t, secret.Data, auth.ValueFrom.SecretKeyRef.Key)
	for _, a := range c.Args {
		assert.False(t, strings.HasPrefix(a, "--auth"), "the key is an argument: %s", a)
	}

	// The probes ask the health endpoint the recoverer serves.
	health := ""
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--health-listen=:"); ok {
			health = v
		}
	}
	require.NotEmpty(t, health, "the recoverer serves no health endpoint")
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		require.NotNil(t, p, "no %s probe", name)
		require.NotNil(t, p.HTTPGet, "%s probe", name)
		assert.Equal(t, "/healthz", p.HTTPGet.Path)
		i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.StrVal })
		require.GreaterOrEqual(t, i, 0, "the %s probe's port is not the container's", name)
		assert.Equal(t, health, fmt.Sprint(c.Ports[i].ContainerPort))
	}
	assert.False(t, c.Resources.Requests.Cpu().IsZero(), "no CPU request")
	assert.False(t, c.Resources.Limits.Memory().IsZero(), "no memory limit")
}

// invokerOf is the release's invoker under either factory.
func invokerOf(t testing.TB, objs map[string]any, release string) (metav1.ObjectMeta, *corev1.PodTemplateSpec, *corev1.Container) {
	t.Helper()
	kind := "StatefulSet"
	if _, ok := objs["DaemonSet "+release+"-invoker"]; ok {
		kind = "DaemonSet"
	}
	return invoker(t, objs, kind, release)
}
