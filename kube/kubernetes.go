package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// patchKubernetes gives the invoker an action pod template whose grace
// period outlasts the runtime's drain (kubernetes factory). It returns the
// ConfigMap holding the template and the grace period.
func patchKubernetes(w *workload, h header, release string, opt Options) (*corev1.ConfigMap, time.Duration, error) {
	spec := &w.pod.Spec
	inv := &spec.Containers[w.container(InvokerContainer)]
	limit, err := timeLimit(inv, opt.MaxTimeLimit)
	if err != nil {
		return nil, 0, err
	}
	// The kubelet sends SIGTERM, then SIGKILL after the grace period: the
	// proxy's drain waits for work at most to its deadline (the time limit
	// after the activation started) and lingering work is bounded by the
	// linger bound, so their sum is never cut short.
	grace := limit + opt.MaxLinger
	graceSeconds := int64(math.Ceil(grace.Seconds()))

	name := release + "-epilogue-action-pod"
	file := "file:" + path.Join(actionPodDir, actionPodFile)
	if v, ok := env(inv, envPodTemplate); ok && v != file {
		return nil, 0, fmt.Errorf("the invoker already has an action pod template (%s=%q); Epilogue's would replace it: merge terminationGracePeriodSeconds: %d into yours and drop the post-renderer, or remove yours", envPodTemplate, v, graceSeconds)
	}

	// Written as a map: a corev1.Pod would also encode "containers: null"
	// and "status: {}", which the invoker would have to merge.
	pod := map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata":   map[string]any{"labels": map[string]string{LabelSemantics: semantics}},
		// The invoker merges its own container (user-action) into this
		// spec; it replaces that container's env, so the semantics go in
		// through the invoker's extra env vars below.
		"spec": map[string]any{"terminationGracePeriodSeconds": graceSeconds},
	}
	podYAML, err := yaml.Marshal(pod)
	if err != nil {
		return nil, 0, err
	}
	header := fmt.Sprintf("# The action pod template of %s, written by epilogue k8s post-render.\n"+
		"# terminationGracePeriodSeconds = the longest action time limit (%s) + the linger bound (%s).\n", h.describe(), limit, opt.MaxLinger)
	podYAML = append([]byte(header), podYAML...)
	sum := sha256.Sum256(podYAML)

	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: h.Metadata.Namespace,
			Labels:    map[string]string{"release": release, "app.kubernetes.io/managed-by": "epilogue"},
		},
		Data: map[string]string{actionPodFile: string(podYAML)},
	}

	setVolume(spec, corev1.Volume{Name: actionPodVolume, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}},
	}})
	setMount(inv, corev1.VolumeMount{Name: actionPodVolume, MountPath: actionPodDir, ReadOnly: true})
	setEnv(inv, envPodTemplate, file)
	setEnv(inv, extraEnvSlot(inv, envSemantics), envSemantics+"="+semantics)
	if w.pod.Annotations == nil {
		w.pod.Annotations = map[string]string{}
	}
	w.pod.Annotations[AnnotationActionPod] = "sha256:" + hex.EncodeToString(sum[:])
	return cm, time.Duration(graceSeconds) * time.Second, nil
}

// timeLimit is the longest action time limit: the chart's, unless the
// flag raises it. A flag below the chart's limit would let the kubelet
// kill work the platform allows, so it is an error.
func timeLimit(inv *corev1.Container, flag time.Duration) (time.Duration, error) {
	rendered := deployKubeTimeLimitMax
	v, ok := env(inv, envTimeLimitMax)
	if ok {
		d, err := parseHOCONDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%s (whisk.limits.actions.time.max): %w", envTimeLimitMax, err)
		}
		rendered = d
	}
	switch {
	case flag == 0:
		return rendered, nil
	case ok && flag < rendered:
		return 0, fmt.Errorf("--max-time-limit %s is below the chart's whisk.limits.actions.time.max (%s): actions may run that long, and the kubelet would kill their work; raise it or drop the flag", flag, v)
	}
	return flag, nil
}

// extraEnvSlot is the extra-env-vars entry for name: the one already
// setting it (literally, or from a Secret's key named name), or the first
// free index (deploy-kube uses 0).
func extraEnvSlot(inv *corev1.Container, name string) string {
	used := map[string]bool{}
	var idx []string
	for _, e := range inv.Env {
		if n, ok := strings.CutPrefix(e.Name, envExtraEnvPrefix); ok {
			fromSecret := e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Key == name
			if strings.HasPrefix(e.Value, name+"=") || fromSecret {
				return e.Name
			}
			used[n] = true
			idx = append(idx, n)
		}
	}
	sort.Strings(idx)
	for i := 0; ; i++ {
		if n := fmt.Sprint(i); !used[n] {
			return envExtraEnvPrefix + n
		}
	}
}
