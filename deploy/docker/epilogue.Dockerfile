# epilogue/epilogue: the epilogue command and nothing else, for the
# durable-task recoverer (epilogue tasks recover) on Kubernetes.
# Built by `make image` from out/epilogue-image (the static binary compiled
# on the host and the host's CA bundle), so no base image is pulled. In the
# cluster the recoverer calls the controller over plain HTTP
# (epilogue k8s post-render --tasks-redis); the CA bundle is for an https
# --apihost, and -i is never needed for the in-cluster URL.
FROM scratch
COPY rootfs/ /
USER 65534:65534
ENTRYPOINT ["/bin/epilogue"]
