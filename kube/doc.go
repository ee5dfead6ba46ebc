// Package kube puts Epilogue into an OpenWhisk deployed on Kubernetes with
// apache/openwhisk-deploy-kube (chart openwhisk). deploy-kube's templates
// hard-code the invoker's containers, volumes and environment, so Epilogue
// is wired in by a Helm post-renderer: PostRender reads the rendered
// multi-document YAML and returns it with deploy-kube's invoker patched.
//
// The invoker is found by kind and container name, and which of OpenWhisk's
// container factories the chart rendered decides the patch:
//
//   - docker (invoker.containerFactory.impl: docker, a DaemonSet): the
//     invoker drives the node's Docker with the docker CLI. epilogue-shim
//     becomes a native sidecar (an init container with restartPolicy
//     Always, so it serves before the invoker's first docker call), the
//     node's Docker socket is mounted into the shim alone, and the invoker
//     reaches the daemon only through the shim's socket (DOCKER_HOST, in
//     a shared emptyDir). useRunc: true is refused: runc pauses bypass the
//     daemon, so no shim sees them.
//   - kubernetes (the default, a StatefulSet): every action container is a
//     pod, and the kubelet ends an idle one with SIGTERM. The invoker is
//     given an action pod template (whisk.kubernetes.pod-template, from a
//     ConfigMap) whose terminationGracePeriodSeconds covers the longest
//     action time limit plus the linger bound, so epilogue-proxy's drain
//     finishes before SIGKILL, and the runtime's semantics are isolated.
//
// With Options.TasksRedis, under either factory, every action container is
// given the durable-task store and lease (the invoker's extra env vars),
// and the release gains a Deployment running epilogue tasks recover against
// its controller Service, its key from deploy-kube's RELEASE-whisk.auth
// Secret; the store's address (which may carry a password) lives in a
// Secret RELEASE-epilogue-tasks that both pod specs refer to, never as a
// literal.
//
// Every other object is passed through byte for byte, patching is
// idempotent, and a stream without an invoker is an error that says what
// was looked for.
//
// It owns the shape of that patch only. The shim's behaviour is
// invoker-shim's, the runtime's drain is proxy's, the reclaim bounds are
// reclaim's; the command line is cmd/epilogue's (epilogue k8s
// post-render).
package kube
