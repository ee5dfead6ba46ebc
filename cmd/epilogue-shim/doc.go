// Command epilogue-shim puts Epilogue in front of a stock OpenWhisk
// invoker: a Docker Engine API interposer that defers the pause and holds
// the removal of containers running the Epilogue runtime until their work
// is done.
//
//	epilogue-shim --listen unix:///run/epilogue/docker.sock \
//	              --docker unix:///var/run/docker.sock --journal /var/lib/epilogue-shim
//
// Then run the invoker with DOCKER_HOST=unix:///run/epilogue/docker.sock and
// whisk.docker.container-factory.use-runc=false.
//
// It owns the flags, the exit codes and the signal handling only: the
// interposer is package invoker-shim (invokershim), the reclaim policy is
// package reclaim's.
package main
