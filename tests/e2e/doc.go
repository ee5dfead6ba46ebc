// Package e2e holds end-to-end tests that run the shipped artefacts against
// real components: the epilogue/action-go image (built by `make image`) in a
// Docker engine, started and driven the way the OpenWhisk invoker does; and
// every example action, built with actionbuild as `epilogue build` does, run
// under the real proxy, writing to a real redis-server where it needs one;
// and the Kubernetes wiring of `epilogue k8s post-render`: deploy-kube's
// rendered invoker pod run on the Docker engine with epilogue/shim and a
// stand-in invoker driving the docker CLI (kubewiring_test.go, kubepod_test.go);
// and the metrics: a real prometheus scraping standalone servers and a shim,
// its PromQL answers checked against the workload (prometheus_test.go).
//
// Without a Docker engine, the image, redis-server or prometheus those tests skip; with
// CI=true they fail (see package testenv). Run them with:
//
//	make image && go test -race -count=1 ./tests/e2e
//
// podsandbox is the pod sandbox of the wiring tests (a pause container).
//
// The package has no non-test code; this file only documents it.
package e2e
