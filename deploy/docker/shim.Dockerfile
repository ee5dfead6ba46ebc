# epilogue/shim: the invoker shim (epilogue-shim) and nothing else.
# Built by `make image` from out/shim-image (the static shim compiled on the
# host), so no base image is pulled. On Kubernetes it runs as a native
# sidecar of deploy-kube's invoker DaemonSet (epilogue k8s post-render):
# the node's Docker socket and the shim's journal are mounted into it, and
# it serves the invoker's Docker API on a socket in a shared emptyDir.
FROM scratch
COPY rootfs/ /
ENTRYPOINT ["/bin/epilogue-shim"]
