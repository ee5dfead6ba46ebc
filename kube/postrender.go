package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/epilogue-dev/epilogue/reclaim"
)

// deploy-kube's names, as its templates render them.
const (
	// InvokerContainer is the invoker's container in either workload.
	InvokerContainer = "invoker"
	// envUseRunc carries invoker.containerFactory.useRunc.
	envUseRunc = "CONFIG_whisk_docker_containerFactory_useRunc"
	// envInvokerOpts carries invoker.options (JVM -D flags).
	envInvokerOpts = "INVOKER_OPTS"
	// envTimeLimitMax carries whisk.limits.actions.time.max.
	envTimeLimitMax = "CONFIG_whisk_timeLimit_max"
	// dockerSocket is the node's daemon socket the chart mounts.
	dockerSocket = "/var/run/docker.sock"
	// deployKubeTimeLimitMax is whisk.limits.actions.time.max's default.
	deployKubeTimeLimitMax = 5 * time.Minute
)

// What the patch adds, by name, so that patching again finds and replaces
// it rather than adding it twice.
const (
	ShimContainer     = "epilogue-shim"
	shimSocketVolume  = "epilogue-shim-socket"
	shimJournalVolume = "epilogue-shim-journal"
	shimKeyVolume     = "epilogue-shim-key"
	// ShimSocketDir is the shared emptyDir holding the shim's socket, in
	// the shim and in the invoker.
	ShimSocketDir = "/run/epilogue"
	// ShimDockerHost is the invoker's DOCKER_HOST.
	ShimDockerHost = "unix://" + ShimSocketDir + "/docker.sock"
	shimJournalDir = "/var/lib/epilogue-shim"
	// shimKeyDir holds the Secret's files in the shim (--notify-key).
	shimKeyDir = "/etc/epilogue-shim"
	// NotifyKeyFile is the Secret's key holding the notify key.
	NotifyKeyFile  = "notify.key"
	shimEventsPort = "shim-events"
	// shimMetricsPort names the port Prometheus scrapes the shim's /metrics on.
	shimMetricsPort = "shim-metrics"

	actionPodVolume = "epilogue-action-pod"
	actionPodDir    = "/epilogue/action-pod"
	actionPodFile   = "action-pod.yaml"
	// envPodTemplate is whisk.kubernetes.pod-template (transformEnvironment.sh
	// turns CONFIG_whisk_kubernetes_podTemplate into it); a file: value is
	// read from the file.
	envPodTemplate = "CONFIG_whisk_kubernetes_podTemplate"
	// envExtraEnvPrefix is whisk.container-factory.container-args.extra-env-vars.N:
	// the only way to set an action container's environment under the
	// kubernetes factory (the invoker replaces the template container's env).
	envExtraEnvPrefix = "CONFIG_whisk_containerFactory_containerArgs_extraEnvVars_"
	// LabelSemantics is on every action pod: the runtime semantics it runs.
	LabelSemantics = "epilogue.dev/semantics"
	// AnnotationActionPod on the invoker's pod template is the action pod
	// template's digest: a change rolls the invoker, which reads it once.
	AnnotationActionPod = "epilogue.dev/action-pod-template"
	// envSemantics is completion's EPILOGUE_SEMANTICS (the runtime reads it).
	envSemantics = "EPILOGUE_SEMANTICS"
	semantics    = "isolated"
)

// Defaults for Options' zero values.
const (
	DefaultShimImage   = "epilogue/shim:latest"
	DefaultNotifyPort  = 7543
	DefaultMetricsPort = 9464
	DefaultJournalRoot = "/var/lib/epilogue-shim"
)

// Options configure the patch. Zero values are the defaults.
type Options struct {
	// ShimImage runs epilogue-shim; "" = DefaultShimImage.
	ShimImage string
	// ShimPullPolicy is Always, IfNotPresent or Never; "" = IfNotPresent
	// (images may be loaded on nodes without a registry).
	ShimPullPolicy string
	// MaxTimeLimit is the longest action time limit. 0 = the rendered
	// invoker's whisk.limits.actions.time.max, or deploy-kube's default
	// (5m). Below the rendered limit it is an error.
	MaxTimeLimit time.Duration
	// MaxLinger bounds how long an activation's work may outlive its
	// response (the shim's --max-linger); 0 = reclaim.DefaultMaxLinger.
	MaxLinger time.Duration
	// NotifyKeySecret names the Secret whose NotifyKeyFile is the shim's
	// notify key; "" = RELEASE-epilogue-shim.
	NotifyKeySecret string
	// JournalHostPath is the node directory of the shim's journal; "" =
	// DefaultJournalRoot/RELEASE.
	JournalHostPath string
	// NotifyPort is where the shim takes the runtimes' pushed events on
	// the pod's IP (its probes check it too); 0 = DefaultNotifyPort.
	NotifyPort int32
	// MetricsPort is where Prometheus scrapes the shim's /metrics on the
	// pod's IP; 0 = DefaultMetricsPort.
	MetricsPort int32
	// Shim is the shim's resources; empty fields take
	// DefaultShimResources'.
	Shim Resources

	// TasksRedis, if set, is the durable-task store (durable.EnvRedis):
	// every action container is given it, and the release gets a
	// Deployment running epilogue tasks recover on it. "" = neither.
	TasksRedis string
	// TasksLease is the actions' and the recoverer's lease; 0 =
	// durable.DefaultLease.
	TasksLease time.Duration
	// RecovererImage carries the epilogue binary; "" =
	// DefaultRecovererImage. It is pulled with ShimPullPolicy.
	RecovererImage string
	// RecovererAuthKey is the key of deploy-kube's RELEASE-whisk.auth
	// Secret the recoverer invokes with; "" = DefaultRecovererAuthKey.
	RecovererAuthKey string
	// Recoverer is the recoverer's resources; empty fields take
	// DefaultRecovererResources'.
	Recoverer Resources
}

// ErrNoInvoker is returned when the stream holds nothing to patch.
var ErrNoInvoker = errors.New("kube: no deploy-kube invoker to patch")

// Factory is the invoker's container factory, as the chart rendered it.
type Factory string

// The two factories deploy-kube renders.
const (
	FactoryDocker     Factory = "docker"
	FactoryKubernetes Factory = "kubernetes"
)

// Result says what PostRender patched.
type Result struct {
	Manifests []byte
	// Invokers are the patched workloads: "DaemonSet owdev-invoker".
	Invokers []string
	Factory  Factory
	// GracePeriod is the action pods' terminationGracePeriodSeconds
	// (kubernetes factory).
	GracePeriod time.Duration
	// Recoverer is the durable-task recoverer's workload, when asked for:
	// "Deployment owdev-epilogue-recoverer".
	Recoverer string
}

// withDefaults fills the zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.ShimImage == "" {
		o.ShimImage = DefaultShimImage
	}
	if o.ShimPullPolicy == "" {
		o.ShimPullPolicy = string(corev1.PullIfNotPresent)
	}
	if o.MaxLinger == 0 {
		o.MaxLinger = reclaim.DefaultMaxLinger
	}
	if o.NotifyPort == 0 {
		o.NotifyPort = DefaultNotifyPort
	}
	if o.MetricsPort == 0 {
		o.MetricsPort = DefaultMetricsPort
	}
	o.Shim = o.Shim.orDefault(DefaultShimResources)
	o, errs := o.recovererDefaults()
	errs = append(errs, o.Shim.check("shim")...)
	if o.MaxLinger < reclaim.DefaultCancelGrace {
		errs = append(errs, fmt.Errorf("max linger %s is below the runtime's cancel grace (%s): give at least that", o.MaxLinger, reclaim.DefaultCancelGrace))
	}
	switch corev1.PullPolicy(o.ShimPullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, fmt.Errorf("shim pull policy %q: use Always, IfNotPresent or Never", o.ShimPullPolicy))
	}
	if o.MaxTimeLimit < 0 {
		errs = append(errs, fmt.Errorf("max time limit %s is negative", o.MaxTimeLimit))
	}
	if o.NotifyPort < 1 || o.NotifyPort > 65535 {
		errs = append(errs, fmt.Errorf("notify port %d is not a TCP port", o.NotifyPort))
	}
	switch {
	case o.MetricsPort < 1 || o.MetricsPort > 65535:
		errs = append(errs, fmt.Errorf("metrics port %d is not a TCP port", o.MetricsPort))
	case o.MetricsPort == o.NotifyPort:
		errs = append(errs, fmt.Errorf("metrics port %d is the notify port: choose another", o.MetricsPort))
	}
	return o, errors.Join(errs...)
}

// PostRender patches deploy-kube's invoker in a rendered stream (see the
// package comment). Objects other than the invoker come back byte for
// byte; patching its own output changes nothing.
func PostRender(in []byte, opt Options) (Result, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Result{}, fmt.Errorf("kube: %w", err)
	}
	docs := splitDocuments(in)
	var (
		res     Result
		seen    []string
		added   []document // action pod ConfigMaps to append
		invoker header     // the last invoker patched
	)
	for i := 0; i < len(docs); i++ {
		h, err := docs[i].header()
		if err != nil {
			return Result{}, fmt.Errorf("kube: document %d is not YAML Helm could have rendered: %w", i+1, err)
		}
		if h.Kind == "" {
			continue
		}
		seen = append(seen, h.describe())
		var factory Factory
		switch {
		case h.APIVersion == "apps/v1" && h.Kind == "DaemonSet":
			factory = FactoryDocker
		case h.APIVersion == "apps/v1" && h.Kind == "StatefulSet":
			factory = FactoryKubernetes
		default:
			continue
		}
		if !runsInvoker(docs[i]) {
			continue
		}
		w, err := decodeWorkload(docs[i])
		if err != nil {
			return Result{}, fmt.Errorf("kube: %s: %w", h.describe(), err)
		}
		if res.Factory != "" && res.Factory != factory {
			return Result{}, fmt.Errorf("kube: both a DaemonSet and a StatefulSet run an %q container (%s); render one release at a time", InvokerContainer, strings.Join(res.Invokers, ", "))
		}
		res.Factory = factory
		res.Invokers = append(res.Invokers, h.describe())
		invoker = h
		release := releaseOf(h)
		before := w.pod.DeepCopy()
		switch factory {
		case FactoryDocker:
			if err := patchDocker(w, release, opt); err != nil {
				return Result{}, fmt.Errorf("kube: %s: %w", h.describe(), err)
			}
		case FactoryKubernetes:
			cm, grace, err := patchKubernetes(w, h, release, opt)
			if err != nil {
				return Result{}, fmt.Errorf("kube: %s: %w", h.describe(), err)
			}
			res.GracePeriod = grace
			body, err := encode([]byte("# Source: epilogue k8s post-render: the action pod template of "+h.describe()+"\n"), cm)
			if err != nil {
				return Result{}, err
			}
			if d := place(docs, "ConfigMap", cm.Name, body, cm, &corev1.ConfigMap{}); d != nil {
				added = append(added, *d)
			}
		}
		if opt.TasksRedis != "" {
			wireTasks(&w.pod.Spec.Containers[w.container(InvokerContainer)], release, opt)
		}
		if equality.Semantic.DeepEqual(before, &w.pod) {
			// Already patched: the text stays as it came, however encoded.
			continue
		}
		body, err := w.encode(docs[i].leadingComments())
		if err != nil {
			return Result{}, err
		}
		docs[i].body = body
	}
	if len(res.Invokers) == 0 {
		what := "no objects"
		if len(seen) > 0 {
			what = fmt.Sprintf("%d objects: %s", len(seen), strings.Join(seen, ", "))
		}
		return Result{}, fmt.Errorf("%w: looked for an apps/v1 DaemonSet (invoker.containerFactory.impl: docker) or StatefulSet (impl: kubernetes) with a container named %q, found %s; pipe in the output of deploy-kube's openwhisk chart (with controller.lean false)", ErrNoInvoker, InvokerContainer, what)
	}
	if opt.TasksRedis != "" {
		docsAdded, err := addRecoverer(docs, invoker, opt)
		if err != nil {
			return Result{}, fmt.Errorf("kube: %w", err)
		}
		added = append(added, docsAdded...)
		res.Recoverer = "Deployment " + recovererName(releaseOf(invoker))
	}
	if len(added) > 0 {
		if last := &docs[len(docs)-1]; !last.endsLine() {
			last.body = append(last.body, '\n')
		}
		docs = append(docs, added...)
	}
	res.Manifests = joinDocuments(docs)
	return res, nil
}

// addRecoverer puts the release's tasks Secret and recoverer Deployment in
// docs, replacing those an earlier run added unless they already say the
// same; it returns the documents to append where there were none.
func addRecoverer(docs []document, inv header, opt Options) ([]document, error) {
	release := releaseOf(inv)
	api, err := controllerAPI(docs, release)
	if err != nil {
		return nil, err
	}
	var added []document
	for _, o := range []struct {
		obj     any
		kind    string
		name    string
		what    string
		decoded func() any
	}{
		{tasksSecret(inv, release, opt), "Secret", tasksSecretName(release), "the durable-task store's address", func() any { return &corev1.Secret{} }},
		{recovererDeployment(inv, release, api, opt), "Deployment", recovererName(release), "the durable-task recoverer", func() any { return &appsv1.Deployment{} }},
	} {
		obj, err := withoutUnset(o.obj)
		if err != nil {
			return nil, err
		}
		body, err := encode([]byte("# Source: epilogue k8s post-render: "+o.what+" of release "+release+"\n"), obj)
		if err != nil {
			return nil, err
		}
		if d := place(docs, o.kind, o.name, body, o.obj, o.decoded()); d != nil {
			added = append(added, *d)
		}
	}
	return added, nil
}

// place puts body, the encoding of obj (kind/name), in docs: it replaces
// the document an earlier run added unless that already decodes (into
// decoded, an empty value of obj's type) to obj, and returns the document to
// append when there is none. Helm 4 re-encodes what a post-renderer
// returns, and patching that again must change nothing.
func place(docs []document, kind, name string, body []byte, obj, decoded any) *document {
	j := findObject(docs, kind, name)
	if j < 0 {
		return &document{sep: "---\n", body: body}
	}
	if yaml.Unmarshal(docs[j].body, decoded) != nil || !equality.Semantic.DeepEqual(decoded, obj) {
		docs[j].body = body
	}
	return nil
}

// withoutUnset is obj as generic JSON without what a chart never writes
// and the API server fills in: status and null creation timestamps.
func withoutUnset(obj any) (map[string]any, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	var drop func(v any)
	drop = func(v any) {
		if o, ok := v.(map[string]any); ok {
			if ts, ok := o["creationTimestamp"]; ok && ts == nil {
				delete(o, "creationTimestamp")
			}
			for _, c := range o {
				drop(c)
			}
		}
	}
	drop(m)
	return m, nil
}

// findObject returns the index of the document holding kind/name, or -1.
func findObject(docs []document, kind, name string) int {
	for i, d := range docs {
		if h, err := d.header(); err == nil && h.Kind == kind && h.Metadata.Name == name {
			return i
		}
	}
	return -1
}

// releaseOf is the Helm release: deploy-kube labels its objects with it,
// and names the invoker RELEASE-invoker.
func releaseOf(h header) string {
	if r := h.Metadata.Labels["release"]; r != "" {
		return r
	}
	return strings.TrimSuffix(h.Metadata.Name, "-invoker")
}

// workload is a DaemonSet or StatefulSet: the object as generic JSON,
// so every field the patch does not touch is written back as it came,
// and its pod template as k8s.io/api types, to patch.
type workload struct {
	obj map[string]any
	pod corev1.PodTemplateSpec
}

// runsInvoker reports whether a workload's pod runs a container named
// InvokerContainer; only then is it decoded strictly (another chart's
// workload may use fields this build does not know, and is not touched).
func runsInvoker(d document) bool {
	var w struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name string `json:"name"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if yaml.Unmarshal(d.body, &w) != nil {
		return false
	}
	for _, c := range w.Spec.Template.Spec.Containers {
		if c.Name == InvokerContainer {
			return true
		}
	}
	return false
}

// decodeWorkload reads spec.template strictly: a field this build's
// k8s.io/api does not know would be lost on the way back, so it is an
// error rather than a silent drop.
func decodeWorkload(d document) (*workload, error) {
	w := &workload{}
	if err := yaml.Unmarshal(d.body, &w.obj); err != nil {
		return nil, err
	}
	spec, _ := w.obj["spec"].(map[string]any)
	tmpl, ok := spec["template"]
	if !ok {
		return nil, errors.New("no spec.template")
	}
	raw, err := json.Marshal(tmpl)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w.pod); err != nil {
		return nil, fmt.Errorf("spec.template does not decode as a pod template of Kubernetes %s: %w; an epilogue built with a newer k8s.io/api may know the field", k8sAPIVersion, err)
	}
	return w, nil
}

// k8sAPIVersion is the k8s.io/api this package is built with, for
// messages.
const k8sAPIVersion = "API v0.37"

// encode writes the object back with the patched pod template.
func (w *workload) encode(comments []byte) ([]byte, error) {
	raw, err := json.Marshal(w.pod)
	if err != nil {
		return nil, err
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		return nil, err
	}
	// A zero metav1.Time encodes as null; the chart never wrote it.
	if md, ok := tmpl["metadata"].(map[string]any); ok {
		if v, ok := md["creationTimestamp"]; ok && v == nil {
			delete(md, "creationTimestamp")
		}
	}
	w.obj["spec"].(map[string]any)["template"] = tmpl
	return encode(comments, w.obj)
}

// container returns the index of the container named name, or -1.
func (w *workload) container(name string) int {
	return slices.IndexFunc(w.pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == name })
}

// setEnv sets name to value in c, in place if present.
func setEnv(c *corev1.Container, name, value string) {
	putEnv(c, corev1.EnvVar{Name: name, Value: value})
}

// setEnvFrom sets name in c to a value from from (a Secret's key).
func setEnvFrom(c *corev1.Container, name string, from *corev1.EnvVarSource) {
	putEnv(c, corev1.EnvVar{Name: name, ValueFrom: from})
}

func putEnv(c *corev1.Container, e corev1.EnvVar) {
	for i := range c.Env {
		if c.Env[i].Name == e.Name {
			c.Env[i] = e
			return
		}
	}
	c.Env = append(c.Env, e)
}

// env returns name's literal value in c.
func env(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// setVolume adds v to the pod, replacing one of the same name.
func setVolume(spec *corev1.PodSpec, v corev1.Volume) {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == v.Name {
			spec.Volumes[i] = v
			return
		}
	}
	spec.Volumes = append(spec.Volumes, v)
}

// setMount adds m to c, replacing one of the same volume and path.
func setMount(c *corev1.Container, m corev1.VolumeMount) {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == m.Name && c.VolumeMounts[i].MountPath == m.MountPath {
			c.VolumeMounts[i] = m
			return
		}
	}
	c.VolumeMounts = append(c.VolumeMounts, m)
}
