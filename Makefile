# Epilogue: make OpenWhisk safe for async I/O.
# `make demo` runs the main job; `make test` runs every test.

SHELL        := /bin/bash
VERSION      := $(shell cat VERSION)
GO           ?= go
GOFLAGS_BUILD = -trimpath -ldflags "-s -w -X github.com/epilogue-dev/epilogue/proxy.Version=$(VERSION)"
IMAGE        ?= epilogue/action-go
SHIM_IMAGE   ?= epilogue/shim
EPILOGUE_IMAGE ?= epilogue/epilogue
STATICCHECK  ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME     ?= 15s
# UPSTREAM_PROXY: upstream's proxy binary, measured beside ours by `make bench`.
UPSTREAM_PROXY ?=
# REPORT_DURATION: how long each scenario of `make report` invokes.
REPORT_DURATION ?= 3s
# REPORT_DIR: where `make report` writes; docs/report is the committed one.
REPORT_DIR ?= out/report
# TEST_TIMEOUT: go test's per-package limit in `make test`; far above go's
# 10 min default, which a slow package can reach on a busy machine.
TEST_TIMEOUT ?= 45m

.PHONY: all build test lint image demo demo-durable observe bench fuzz deps chaos report keepalive-report clean

all: build

## build: the binaries, static, into bin/ (epilogue's version, and its SDK's, is VERSION, embedded by the root package)
build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/epilogue-proxy ./cmd/epilogue-proxy
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/epilogue ./cmd/epilogue
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/epilogue-shim ./cmd/epilogue-shim

## test: every test, with the race detector; needs a Docker engine (the image test), redis-server and chromium (installed by `deps`)
## and bin/jaeger (built here: tests/observe reads traces back from it)
test: deps image bin/jaeger
	EPILOGUE_JAEGER=$(CURDIR)/bin/jaeger $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## bin/jaeger: the Jaeger all-in-one (v2) pinned by tools/jaeger, a module of its own so that its
## dependencies stay out of go.mod; rebuilt only when that module changes (a cold build takes minutes)
bin/jaeger: tools/jaeger/go.mod tools/jaeger/go.sum
	cd tools/jaeger && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(CURDIR)/bin/jaeger github.com/jaegertracing/jaeger/cmd/jaeger

## deps: what the demo and the tests need beyond Go and Docker: a real redis-server, prometheus, curl and chromium
## (the live view's browser test) (Debian packages); installed as root or through password-less sudo, waiting up to 10 min for another apt to finish
deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing=" redis-server"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	command -v prometheus >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
	  echo "installing$$missing: the demo and the end-to-end tests use a real redis-server, a real prometheus and a headless chromium"; \
	  { $$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing >/dev/null; } || true; \
	fi
	@for c in redis-server curl prometheus chromium; do command -v $$c >/dev/null 2>&1 || { echo "$$c is missing and could not be installed here: run 'sudo apt-get install -y redis-server curl prometheus chromium'" >&2; exit 1; }; done

## lint: go vet, staticcheck, gofmt
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## image: epilogue/action-go, epilogue/shim and epilogue/epilogue (the durable-task recoverer on Kubernetes), FROM scratch
## with the static binaries built here (no registry needed)
image: build
	rm -rf out/image && mkdir -p out/image/rootfs/bin out/image/rootfs/tmp out/image/rootfs/epilogue out/image/rootfs/etc/ssl/certs
	chmod 1777 out/image/rootfs/tmp
	cp bin/epilogue-proxy out/image/rootfs/bin/
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt out/image/rootfs/etc/ssl/certs/; fi
	docker build -q -f deploy/docker/Dockerfile -t $(IMAGE):latest -t $(IMAGE):$(VERSION) out/image
	rm -rf out/shim-image && mkdir -p out/shim-image/rootfs/bin
	cp bin/epilogue-shim out/shim-image/rootfs/bin/
	docker build -q -f deploy/docker/shim.Dockerfile -t $(SHIM_IMAGE):latest -t $(SHIM_IMAGE):$(VERSION) out/shim-image
	rm -rf out/epilogue-image && mkdir -p out/epilogue-image/rootfs/bin out/epilogue-image/rootfs/etc/ssl/certs
	cp bin/epilogue out/epilogue-image/rootfs/bin/
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt out/epilogue-image/rootfs/etc/ssl/certs/; fi
	docker build -q -f deploy/docker/epilogue.Dockerfile -t $(EPILOGUE_IMAGE):latest -t $(EPILOGUE_IMAGE):$(VERSION) out/epilogue-image

## demo: epilogue standalone + examples/async-write + a real redis-server, under epilogue and vanilla semantics
demo: build deps
	bin/epilogue build examples/async-write -o out/demo/async-write.zip
	./scripts/demo.sh

## observe: epilogue standalone exporting traces to Jaeger, Prometheus scraping it, and a demo workload;
## prints the URLs to open and runs until Ctrl-C
observe: build bin/jaeger deps
	bin/epilogue build examples/async-write -o out/observe/async-write.zip
	$(GO) build -o out/observe/tracetree ./tests/observe/tracetree
	./scripts/observe.sh

## demo-durable: a durable task survives its container: examples/durable-order, killed mid-charge, recovered by
## epilogue standalone's built-in recoverer, on a redis-server with appendonly yes and appendfsync always
demo-durable: build deps
	bin/epilogue build examples/durable-order -o out/demo/durable-order.zip
	./scripts/demo-durable.sh

## bench: /run latency and throughput, keep-alive and not, /epilogue/await cost, a durable task's response cost against sdk.Go and checkpoint latency (1 KiB–1 MiB, loopback Redis with an fsynced AOF),
## and the proxy's peak RSS during a 47 MiB /init; table + out/bench/proxy.json;
## then what a standalone invoke of examples/hello adds to its direct /run (in the same JSON);
## then the shim's pass-through overhead per Docker API call and its reclaim lag (needs Docker); table + out/bench/shim.json
bench: image
	CGO_ENABLED=0 $(GO) build -o out/bench/exec ./tests/testaction
	CGO_ENABLED=0 $(GO) build -o out/bench/sdkexec ./tests/bench/sdkaction
	$(GO) build -o out/bench/bench ./tests/bench
	out/bench/bench -proxy bin/epilogue-proxy -action out/bench/exec -sdk-action out/bench/sdkexec -json out/bench/proxy.json $(if $(UPSTREAM_PROXY),-upstream $(UPSTREAM_PROXY))
	$(GO) run ./tests/bench/shim -shim bin/epilogue-shim -proxy bin/epilogue-proxy -action out/bench/exec -image $(IMAGE):latest -json out/bench/shim.json

## chaos: the full consistency fault-injection matrix on both backends (epilogue chaos -h)
chaos: build image deps
	bin/epilogue chaos --backend both

## report: Markdown tables and SVG charts from a seeded run of the matrix on both backends, into $(REPORT_DIR)
## (make report REPORT_DIR=docs/report refreshes the committed report; bin/epilogue chaos --render DIR redraws DIR from its results.json)
report: build image deps
	bin/epilogue chaos --backend both --seed 1 --duration $(REPORT_DURATION) --report $(REPORT_DIR)

## keepalive-report: the keep-alive policies compared on a seeded synthetic week (no memory limit, then 20 GiB), into docs/keepalive
keepalive-report: build
	bin/epilogue replay --synthetic --seed 1 --days 7 --memory 0,20480 --report docs/keepalive

## fuzz: a short run of every fuzz target (their seed corpora also run in `make test`)
fuzz:
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME) \
	  ./proxy/archive FuzzExtract ./proxy FuzzInit ./proxy FuzzDecodeInit \
	  ./actionloop FuzzParseFrame ./actionloop FuzzRequestLine ./actionloop FuzzPostResponseActivation \
	  ./actionloop FuzzRoundTrip ./actionloop FuzzParseMessage ./actionloop FuzzParseRequest ./actionloop FuzzAppendFrame \
	  ./standalone/pool FuzzCollector ./standalone/entity FuzzParseActionPut ./standalone/entity FuzzIsBinaryCode ./standalone/entity FuzzDecodePackagePut ./standalone/entity FuzzParseQualifiedName ./standalone/entity FuzzDecodeRulePut \
	  ./invoker-shim FuzzRewriteCreate ./invoker-shim FuzzCreatePolicy ./invoker-shim FuzzRoute ./invoker-shim FuzzCall ./invoker-shim/journal FuzzOpen ./kube FuzzPostRender \
	  ./replay FuzzRead ./keepalive FuzzFitARIMA ./tests/observe FuzzRender \
	  ./standalone/api FuzzParseWebPath ./standalone/api FuzzDecodeWebBody ./standalone/api FuzzRenderWeb \
	  ./durable FuzzReadReply ./durable FuzzParseAddr ./sdk FuzzResumeRef ./cmd/epilogue FuzzParseWskProps ./internal/sysmon FuzzFilter

clean:
	rm -rf bin out
