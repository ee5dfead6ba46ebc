package kube

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// patchDocker puts epilogue-shim between the invoker and the node's Docker
// (docker factory).
func patchDocker(w *workload, release string, opt Options) error {
	spec := &w.pod.Spec
	inv := &spec.Containers[w.container(InvokerContainer)]
	if err := checkNoRunc(inv); err != nil {
		return err
	}
	sock := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool {
		return v.HostPath != nil && path.Clean(v.HostPath.Path) == dockerSocket
	})
	if sock < 0 {
		return fmt.Errorf("no hostPath volume of the node's %s: deploy-kube's docker factory mounts it (volume dockersock); is this its invoker DaemonSet?", dockerSocket)
	}
	sockVolume := spec.Volumes[sock].Name

	// The invoker loses its own way to the daemon: the shim is its only one.
	inv.VolumeMounts = slices.DeleteFunc(inv.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == sockVolume || path.Clean(m.MountPath) == dockerSocket
	})
	setMount(inv, corev1.VolumeMount{Name: shimSocketVolume, MountPath: ShimSocketDir})
	setEnv(inv, "DOCKER_HOST", ShimDockerHost)

	journal := opt.JournalHostPath
	if journal == "" {
		journal = path.Join(DefaultJournalRoot, release)
	}
	secret := opt.NotifyKeySecret
	if secret == "" {
		secret = release + "-epilogue-shim"
	}
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	keyMode := int32(0o400)
	setVolume(spec, corev1.Volume{Name: shimSocketVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	setVolume(spec, corev1.Volume{Name: shimJournalVolume, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: journal, Type: &dirOrCreate}}})
	setVolume(spec, corev1.Volume{Name: shimKeyVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: secret, DefaultMode: &keyMode,
		Items: []corev1.KeyToPath{{Key: NotifyKeyFile, Path: NotifyKeyFile}},
	}}})

	shim := shimContainer(sockVolume, opt)
	if i := slices.IndexFunc(spec.InitContainers, func(c corev1.Container) bool { return c.Name == ShimContainer }); i >= 0 {
		spec.InitContainers[i] = shim
	} else {
		// Last: init containers start in order, and the invoker only after
		// every one of them (a sidecar: once its startup probe passes).
		spec.InitContainers = append(spec.InitContainers, shim)
	}
	return nil
}

// checkNoRunc refuses an invoker that pauses with runc: runc freezes the
// container without the daemon, so the shim would never see the pause.
func checkNoRunc(inv *corev1.Container) error {
	if v, ok := env(inv, envUseRunc); ok && !strings.EqualFold(strings.TrimSpace(v), "false") {
		return fmt.Errorf("the invoker pauses containers with runc (%s=%q): runc pauses bypass the Docker daemon, so epilogue-shim cannot defer them; set invoker.containerFactory.useRunc: false (deploy/helm/openwhisk-values.yaml does)", envUseRunc, v)
	}
	if opts, ok := env(inv, envInvokerOpts); ok {
		for _, f := range strings.Fields(opts) {
			k, v, _ := strings.Cut(strings.TrimPrefix(f, "-D"), "=")
			if k == "whisk.docker.container-factory.use-runc" && !strings.EqualFold(strings.Trim(v, `'"`), "false") {
				return fmt.Errorf("invoker.options sets %s: runc pauses bypass the Docker daemon, so epilogue-shim cannot defer them; remove it from invoker.options", f)
			}
		}
	}
	return nil
}

// shimContainer is epilogue-shim as a native sidecar.
func shimContainer(sockVolume string, opt Options) corev1.Container {
	always := corev1.ContainerRestartPolicyAlways
	port := intstr.FromString(shimEventsPort)
	probe := func(period, failures int32) *corev1.Probe {
		// The events listener opens only once the shim has reached the
		// daemon and replayed its journal, just before the Docker socket.
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port}},
			PeriodSeconds:    period,
			TimeoutSeconds:   2,
			FailureThreshold: failures,
		}
	}
	no, yes := false, true
	root := int64(0)
	return corev1.Container{
		Name:            ShimContainer,
		Image:           opt.ShimImage,
		ImagePullPolicy: corev1.PullPolicy(opt.ShimPullPolicy),
		RestartPolicy:   &always,
		Args: []string{
			"--listen=" + ShimDockerHost,
			"--docker=unix://" + dockerSocket,
			"--journal=" + shimJournalDir,
			"--notify-key=" + path.Join(shimKeyDir, NotifyKeyFile),
			"--max-linger=" + opt.MaxLinger.String(),
			// Action containers on the node's bridge reach the pod's IP.
			"--notify-listen=$(POD_IP):" + strconv.Itoa(int(opt.NotifyPort)),
			// Prometheus scrapes the pod's IP.
			"--metrics-listen=$(POD_IP):" + strconv.Itoa(int(opt.MetricsPort)),
		},
		Env: []corev1.EnvVar{{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}},
		Ports: []corev1.ContainerPort{
			{Name: shimEventsPort, ContainerPort: opt.NotifyPort, Protocol: corev1.ProtocolTCP},
			{Name: shimMetricsPort, ContainerPort: opt.MetricsPort, Protocol: corev1.ProtocolTCP},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: sockVolume, MountPath: dockerSocket},
			{Name: shimSocketVolume, MountPath: ShimSocketDir},
			{Name: shimJournalVolume, MountPath: shimJournalDir},
			{Name: shimKeyVolume, MountPath: shimKeyDir, ReadOnly: true},
		},
		Resources: opt.Shim.requirements(),
		// Up to a minute to reach the daemon and replay the journal.
		StartupProbe:   probe(1, 60),
		ReadinessProbe: probe(10, 3),
		LivenessProbe:  probe(10, 6),
		SecurityContext: &corev1.SecurityContext{
			// Root owns the node's Docker socket; nothing else is needed.
			RunAsUser:                &root,
			AllowPrivilegeEscalation: &no,
			ReadOnlyRootFilesystem:   &yes,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}
