# Malten: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
# Every function in a section of its own, so that the linker can lay out what serving runs together
# (Sources/malten/symbol-order.txt; see README, Memory).
RELEASE_FLAGS = -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
APT_BUILD = libjemalloc-dev libnats-dev pkg-config
APT_BENCH = wrk nginx-light curl libnginx-mod-nchan nats-server
# The web page's tests drive Debian's headless Chromium through chromedriver, and check its
# scripts with node (Debian's nodejs when no node is on the PATH).
# strace and systemd-analyze check that nothing reaches a disk and the service unit; the OpenAPI
# check's Python tools go into a virtual environment under .build/ (Tests/OpenAPI/requirements.txt).
APT_TEST = chromium chromium-driver openssl strace systemd python3-venv nats-server

.PHONY: run build install test test-openapi bench bench-http bench-fanout bench-cluster symbol-order deps deps-test deps-bench clean

## run: build a static release binary and serve on :9090 (MALTEN_* variables and ARGS="--flags" apply)
run: build
	./.build/release/malten $(ARGS)

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product malten

## install: the built binary to $(DESTDIR)$(PREFIX)/bin and the hardened systemd unit beside the
## system's (after `make build`; then `systemctl enable --now malten`)
PREFIX ?= /usr/local
UNITDIR ?= $(PREFIX)/lib/systemd/system
install:
	@test -x .build/release/malten || { echo "make build first: no .build/release/malten" >&2; exit 1; }
	install -D -m 0755 .build/release/malten $(DESTDIR)$(PREFIX)/bin/malten
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|^ExecStart=/usr/local/bin/malten|ExecStart=$(PREFIX)/bin/malten|' Sources/malten/malten.service > $(DESTDIR)$(UNITDIR)/malten.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/malten.service

## test: every test of every target, the browser tests included (installs what they need first);
## the behaviour suite also runs through the release binary, as an unprivileged user; then the
## OpenAPI document is validated and fuzzed against that binary (test-openapi)
test: deps deps-test build
	MALTEN_BINARY=$(CURDIR)/.build/release/malten $(SWIFT) test
	$(MAKE) test-openapi

## test-openapi: openapi-spec-validator, then schemathesis against a live server (MAX_TIME=60 s, SEED=1)
test-openapi: deps-test build
	MALTEN_BINARY=$(CURDIR)/.build/release/malten ./Tests/OpenAPI/check.sh

## bench: the in-process benchmark against the small-device profile (PROFILE=pi-zero|pi4|server)
bench: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product malten-bench
	./.build/release/malten-bench --profile $(or $(PROFILE),pi-zero)

## bench-http: the HTTP load run (server pinned to cpu 0, wrk on cpu 1) beside nginx's ceiling
bench-http: deps-bench build
	./Benchmarks/http-load.sh

## bench-fanout: SSE fan-out and idle subscribers against nchan in the same run (RUNS=3)
bench-fanout: deps-bench build
	./Benchmarks/fanout.sh $(or $(RUNS),3)

## bench-cluster: posts through an owner and a forwarding member, and fan-out over three members,
## against one server alone in the same run (RUNS=3)
bench-cluster: deps-bench build
	$(SWIFT) build $(RELEASE_FLAGS) --product malten-bench
	./Benchmarks/cluster.sh $(or $(RUNS),3)

## symbol-order: profile `malten serve` under valgrind, rewrite Sources/malten/symbol-order.txt and
## link again with it (SwiftPM does not see the list as an input)
symbol-order: build
	./Benchmarks/symbol-order.sh
	rm -f .build/release/malten
	$(SWIFT) build $(RELEASE_FLAGS) --product malten

deps:
	@$(call apt_install,$(APT_BUILD))

deps-test:
	@$(call apt_install,$(APT_TEST))
	@command -v node >/dev/null || $(call apt_install,nodejs)

deps-bench:
	@$(call apt_install,$(APT_BENCH))

clean:
	rm -rf .build

# Installs the Debian packages that are missing (as root, or through sudo).
define apt_install
	missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
endef
