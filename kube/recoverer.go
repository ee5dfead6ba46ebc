package kube

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/epilogue-dev/epilogue/durable"
)

// The durable-task recoverer the patch adds when Options.TasksRedis is set.
const (
	// RecovererContainer is the recoverer's container, in a Deployment
	// named RELEASE-epilogue-recoverer.
	RecovererContainer = "epilogue-recoverer"
	// DefaultRecovererImage carries the epilogue binary (make image).
	DefaultRecovererImage = "epilogue/epilogue:latest"
	// DefaultRecovererAuthKey is the key of deploy-kube's auth Secret
	// (RELEASE-whisk.auth: guest, system) the recoverer invokes with.
	DefaultRecovererAuthKey = "guest"
	// RecovererBinary is the epilogue binary in the recoverer's image.
	RecovererBinary = "/bin/epilogue"
	// recovererHealthPort serves epilogue tasks recover --health-listen.
	recovererHealthPort = 8081
	recovererHealthName = "health"
	// recovererHealthPath is durable/recoverer's HealthPath (kube does not
	// link the recoverer; tests/e2e probes the rendered path).
	recovererHealthPath = "/healthz"
	// controllerPortName is the controller Service's port deploy-kube
	// names http (controller-svc.yaml): its REST API, plain HTTP inside
	// the cluster, so the recoverer needs neither TLS nor -i.
	controllerPortName = "http"
	// recovererUID runs the recoverer as nobody: it needs no file.
	recovererUID = int64(65534)
)

// recovererName is the release's recoverer Deployment.
func recovererName(release string) string { return release + "-epilogue-recoverer" }

// tasksSecretName is the Secret the patch adds for the task store's
// address: a redis:// URL may carry a password, so neither the invoker's
// pod spec nor the recoverer's holds it literally (kubectl describe, and
// anyone who may read pods but not Secrets, sees only the reference).
func tasksSecretName(release string) string { return release + "-epilogue-tasks" }

// The tasks Secret's keys: the store's address, for the recoverer, and the
// invoker's extra-env line that hands it to every action container (the
// invoker takes KEY=VALUE lines; the key is the variable it sets, which is
// how extraEnvSlot finds the entry again).
const (
	tasksSecretURLKey = "url"
	tasksSecretEnvKey = durable.EnvRedis
)

// tasksSecret holds the task store's address for release.
func tasksSecret(inv header, release string, opt Options) *corev1.Secret {
	labels := map[string]string{"release": release, "app.kubernetes.io/managed-by": "epilogue"}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: tasksSecretName(release), Namespace: inv.Metadata.Namespace, Labels: labels},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{
			tasksSecretURLKey: opt.TasksRedis,
			tasksSecretEnvKey: durable.EnvRedis + "=" + opt.TasksRedis,
		},
	}
}

// secretRef is an env var's value from key of Secret name.
func secretRef(name, key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
}

// authSecretName is deploy-kube's Secret of the guest and system keys
// (ow-whisk-secret.yaml).
func authSecretName(release string) string { return release + "-whisk.auth" }

// wireTasks gives every action container the task store's address and the
// lease, through the invoker's extra env vars: both factories pass them to
// the containers they create (under the kubernetes factory it is the only
// way, the invoker replacing the template container's env).
func wireTasks(inv *corev1.Container, release string, opt Options) {
	setEnvFrom(inv, extraEnvSlot(inv, durable.EnvRedis), secretRef(tasksSecretName(release), tasksSecretEnvKey))
	setEnv(inv, extraEnvSlot(inv, durable.EnvLease), durable.EnvLease+"="+opt.TasksLease.String())
}

// controllerAPI is the in-cluster URL of the release's controller, from
// its rendered Service.
func controllerAPI(docs []document, release string) (string, error) {
	name := release + "-controller"
	i := findObject(docs, "Service", name)
	if i < 0 {
		return "", fmt.Errorf("--tasks-redis: the release has no Service %s, which the recoverer invokes actions through; is this deploy-kube's openwhisk chart?", name)
	}
	var svc corev1.Service
	if err := yaml.Unmarshal(docs[i].body, &svc); err != nil {
		return "", fmt.Errorf("the rendered Service %s: %w", name, err)
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == controllerPortName {
			// The short name resolves in the release's namespace, where
			// the recoverer runs beside the controller.
			return "http://" + name + ":" + strconv.Itoa(int(p.Port)), nil
		}
	}
	return "", fmt.Errorf("--tasks-redis: Service %s has no port named %q, the controller's API", name, controllerPortName)
}

// recovererDeployment runs epilogue tasks recover for the release. inv is
// the invoker's header, whose namespace and labels it takes.
func recovererDeployment(inv header, release, apiHost string, opt Options) *appsv1.Deployment {
	name := recovererName(release)
	labels := maps.Clone(inv.Metadata.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels["name"] = name
	labels["release"] = release
	labels["app.kubernetes.io/managed-by"] = "epilogue"
	one := int32(1)
	no, yes := false, true
	uid := recovererUID
	port := intstr.FromString(recovererHealthName)
	probe := func(failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: recovererHealthPath, Port: port}},
			PeriodSeconds:    10,
			TimeoutSeconds:   5,
			FailureThreshold: failures,
		}
	}
	c := corev1.Container{
		Name:            RecovererContainer,
		Image:           opt.RecovererImage,
		ImagePullPolicy: corev1.PullPolicy(opt.ShimPullPolicy),
		Command:         []string{RecovererBinary},
		Args: []string{
			"tasks", "recover",
			"--apihost=" + apiHost,
			"--lease=" + opt.TasksLease.String(),
			"--health-listen=:" + strconv.Itoa(recovererHealthPort),
		},
		Env: []corev1.EnvVar{
			{Name: durable.EnvRedis, ValueFrom: secretRef(tasksSecretName(release), tasksSecretURLKey)},
			{Name: durable.EnvAuth, ValueFrom: secretRef(authSecretName(release), opt.RecovererAuthKey)},
		},
		Ports: []corev1.ContainerPort{{Name: recovererHealthName, ContainerPort: recovererHealthPort, Protocol: corev1.ProtocolTCP}},
		// Ready and alive while the task store answers: cut off from it
		// the recoverer recovers nothing, and a restart redials.
		ReadinessProbe: probe(3),
		LivenessProbe:  probe(6),
		Resources:      opt.Recoverer.requirements(),
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                &uid,
			RunAsNonRoot:             &yes,
			AllowPrivilegeEscalation: &no,
			ReadOnlyRootFilesystem:   &yes,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: inv.Metadata.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			// One is enough; more are safe: the store's consumer group
			// hands each lapsed intent to one claimer.
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers:                   []corev1.Container{c},
					AutomountServiceAccountToken: &no,
				},
			},
		},
	}
}

// recovererDefaults fills and checks the recoverer's options, when asked
// for one.
func (o Options) recovererDefaults() (Options, []error) {
	if o.TasksRedis == "" {
		return o, nil
	}
	var errs []error
	if o.RecovererImage == "" {
		o.RecovererImage = DefaultRecovererImage
	}
	if o.RecovererAuthKey == "" {
		o.RecovererAuthKey = DefaultRecovererAuthKey
	}
	if o.TasksLease == 0 {
		o.TasksLease = durable.DefaultLease
	}
	o.Recoverer = o.Recoverer.orDefault(DefaultRecovererResources)
	errs = append(errs, o.Recoverer.check("recoverer")...)
	if st, err := durable.Open(o.TasksRedis); err != nil {
		errs = append(errs, fmt.Errorf("--tasks-redis: %w", err))
	} else {
		st.Close()
	}
	if o.TasksLease < time.Second {
		errs = append(errs, fmt.Errorf("tasks lease %s is below a second: a busy action would lose its tasks to the recoverer; the default is %s", o.TasksLease, durable.DefaultLease))
	}
	if !slices.Contains([]string{"guest", "system"}, o.RecovererAuthKey) {
		errs = append(errs, fmt.Errorf("recoverer auth key %q: deploy-kube's Secret %s holds guest and system", o.RecovererAuthKey, authSecretName("RELEASE")))
	}
	return o, errs
}
