package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/internal/cli"
	"github.com/epilogue-dev/epilogue/kube"
	"github.com/epilogue-dev/epilogue/reclaim"
)

const k8sUsage = `Usage: epilogue k8s post-render [flags] < rendered.yaml > patched.yaml

A Helm post-renderer for apache/openwhisk-deploy-kube (chart openwhisk): reads
the rendered manifests on stdin and writes them on stdout with the invoker
patched for Epilogue. Every other object is passed through unchanged, and
patching twice is patching once.

  docker factory (invoker DaemonSet): epilogue-shim as a native sidecar, the
    node's Docker socket mounted into the shim only, the invoker's DOCKER_HOST
    at the shim's socket; useRunc true is refused.
  kubernetes factory (invoker StatefulSet): an action pod template whose
    terminationGracePeriodSeconds is the longest action time limit plus
    --max-linger, and EPILOGUE_SEMANTICS=isolated in every action container.
  --tasks-redis ADDR (either factory): every action container is given the
    durable-task store, and a Deployment RELEASE-epilogue-recoverer runs
    epilogue tasks recover against the release's controller with the key of
    deploy-kube's Secret RELEASE-whisk.auth.

  Helm 3: helm install ... --post-renderer epilogue --post-renderer-args k8s --post-renderer-args post-render
  Helm 4: helm plugin install deploy/helm/plugin; helm install ... --post-renderer epilogue-k8s
  (docs/kubernetes.md)

Flags:
`

// runK8s is `epilogue k8s SUBCOMMAND`; the manifests come on stdin.
func runK8s(_ context.Context, args []string, stdout, stderr io.Writer) int {
	return runK8sIO(args, os.Stdin, stdout, stderr)
}

func runK8sIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "post-render" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, k8sUsage)
			return exitOK
		}
		fmt.Fprint(stderr, "epilogue k8s: want the subcommand post-render\n\n"+k8sUsage)
		return exitUsage
	}
	fs := cli.NewFlagSet("epilogue k8s post-render", k8sUsage, stderr)
	defaultImage := kube.DefaultShimImage
	if version != "dev" {
		defaultImage = "epilogue/shim:" + version
	}
	shimImage := fs.String("shim-image", defaultImage, "the epilogue-shim image (docker factory); load it on the nodes or push it to docker.registry.name")
	pull := fs.String("shim-pull-policy", "IfNotPresent", "the shim image's imagePullPolicy")
	timeLimit := fs.Duration("max-time-limit", 0, "the longest action time limit (kubernetes factory); default: the chart's whisk.limits.actions.time.max (deploy-kube: 5m), and never below it")
	maxLinger := fs.Duration("max-linger", reclaim.DefaultMaxLinger, "the longest an activation's work may outlive its response: the shim's --max-linger, and part of the action pods' grace period")
	secret := fs.String("notify-key-secret", "", "the Secret whose key notify.key (at least 32 bytes) is the shim's notify key (default RELEASE-epilogue-shim)")
	journal := fs.String("shim-journal", "", "the node directory of the shim's journal (default "+kube.DefaultJournalRoot+"/RELEASE)")
	port := fs.Int("shim-notify-port", kube.DefaultNotifyPort, "the pod port where action containers push events to the shim (its probes check it)")
	metricsPort := fs.Int("shim-metrics-port", kube.DefaultMetricsPort, "the pod port where Prometheus scrapes the shim's /metrics")
	var shim, recoverer kube.Resources
	resourceFlags(fs, "shim", "the shim's", &shim, kube.DefaultShimResources)
	defaultRecoverer := kube.DefaultRecovererImage
	if version != "dev" {
		defaultRecoverer = "epilogue/epilogue:" + version
	}
	tasksRedis := fs.String("tasks-redis", "", "the durable-task store (host:port or redis://...; reachable from action pods): every action container gets it as "+durable.EnvRedis+", and a Deployment RELEASE-epilogue-recoverer runs epilogue tasks recover on it")
	tasksLease := fs.Duration("tasks-lease", durable.DefaultLease, "with --tasks-redis: the actions' "+durable.EnvLease+" and the recoverer's --lease")
	recovererImage := fs.String("recoverer-image", defaultRecoverer, "with --tasks-redis: the image carrying the epilogue binary (make image builds it); pulled with --shim-pull-policy")
	recovererKey := fs.String("recoverer-auth", kube.DefaultRecovererAuthKey, "with --tasks-redis: the key of deploy-kube's Secret RELEASE-whisk.auth the recoverer invokes with (guest or system)")
	resourceFlags(fs, "recoverer", "with --tasks-redis: the recoverer's", &recoverer, kube.DefaultRecovererResources)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		_ = fs.Fail("unexpected argument %q: the manifests come on stdin", fs.Arg(0))
		return exitUsage
	}
	for _, p := range []struct {
		flag string
		v    int
	}{{"--shim-notify-port", *port}, {"--shim-metrics-port", *metricsPort}} {
		if p.v < 1 || p.v > 65535 {
			_ = fs.Fail("%s %d is not a TCP port", p.flag, p.v)
			return exitUsage
		}
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintln(stderr, "epilogue k8s post-render: read stdin:", err)
		return exitError
	}
	res, err := kube.PostRender(in, kube.Options{
		ShimImage: *shimImage, ShimPullPolicy: *pull, MaxTimeLimit: *timeLimit, MaxLinger: *maxLinger,
		NotifyKeySecret: *secret, JournalHostPath: *journal, NotifyPort: int32(*port), MetricsPort: int32(*metricsPort),
		Shim:       shim,
		TasksRedis: *tasksRedis, TasksLease: *tasksLease, RecovererImage: *recovererImage, RecovererAuthKey: *recovererKey, Recoverer: recoverer,
	})
	if err != nil {
		fmt.Fprintln(stderr, "epilogue k8s post-render:", err)
		return exitError
	}
	if _, err := stdout.Write(res.Manifests); err != nil {
		fmt.Fprintln(stderr, "epilogue k8s post-render: write stdout:", err)
		return exitError
	}
	// Helm shows a failing post-renderer's stderr only; a note on success
	// tells an operator running it by hand what was patched.
	msg := fmt.Sprintf("epilogue k8s post-render: patched %s (%s factory)", strings.Join(res.Invokers, ", "), res.Factory)
	if res.GracePeriod > 0 {
		msg += fmt.Sprintf("; action pods' grace period %s", res.GracePeriod)
	}
	if res.Recoverer != "" {
		msg += fmt.Sprintf("; durable tasks on %s, recovered by %s", *tasksRedis, res.Recoverer)
	}
	fmt.Fprintln(stderr, msg)
	return exitOK
}

// resourceFlags defines --WHO-cpu-request, --WHO-memory-request and
// --WHO-memory-limit into r, with def's values as defaults.
func resourceFlags(fs *cli.FlagSet, who, whose string, r *kube.Resources, def kube.Resources) {
	fs.StringVar(&r.CPURequest, who+"-cpu-request", def.CPURequest, whose+" CPU request")
	fs.StringVar(&r.MemoryRequest, who+"-memory-request", def.MemoryRequest, whose+" memory request")
	fs.StringVar(&r.MemoryLimit, who+"-memory-limit", def.MemoryLimit, whose+" memory limit")
}
