# Malten: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
RELEASE_FLAGS = -c release --static-swift-stdlib
APT_PACKAGES_BENCH = wrk nginx-light curl

.PHONY: run build test bench-http deps-bench clean

## run: build a static release binary and serve on :9090 (MALTEN_* variables and flags apply)
run: build
	./.build/release/malten $(ARGS)

build:
	$(SWIFT) build $(RELEASE_FLAGS) --product malten

## test: every test of every target (installs what the tests need first)
test:
	$(SWIFT) test

## bench-http: the HTTP load run (server pinned to cpu 0, wrk on cpu 1) beside nginx's ceiling
bench-http: deps-bench build
	./Benchmarks/http-load.sh

deps-bench:
	@missing=""; for p in $(APT_PACKAGES_BENCH); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

clean:
	rm -rf .build
