# nook: build, demo and tests. `make demo` and `make test` install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := build

CARGO ?= cargo
TARGET := x86_64-unknown-linux-gnu
PROBE := target/static/$(TARGET)/release/probe
FIXTURE := target/fixtures/rootfs
RUNTIME := target/debug/nook-runtime
APT_PACKAGES := busybox-static runc uidmap python3 umoci skopeo
VM_APT_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static cpio
ENGINE_APT_PACKAGES := podman containerd docker.io umoci skopeo
SKIP_LOG := $(CURDIR)/target/test-skips.log

.PHONY: deps build release probe fixtures demo test unit behaviour behaviour-root behaviour-userns test-rootless lint bench bench-v2 bench-images symbol-order clean vm-deps test-cgroup2 engine-deps test-engines

# Debian packages the demo and the tests use; apt runs only when one is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# What scripts/run-in-vm.sh needs (qemu, a stock kernel, static busybox); apt runs only when one is missing.
vm-deps:
	@missing=""; for p in $(VM_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Engines driven by runtime-tests/tests/engines.rs, and the tools that build its image offline.
engine-deps:
	@missing=""; for p in $(ENGINE_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build:
	$(CARGO) build --bins

# Static builds (the shipped binaries and the probe; one set of flags, so the two
# share target/static without rebuilding each other): statically linked (no
# dynamic loader at each of the two execs of a `create`), still position-independent
# (ASLR kept: a non-PIE build would save 0.4 MiB of RSS, docs/benchmarks.md), and the
# functions of the usual paths laid out together (build/symbol-order.txt,
# scripts/symbol-order.py): RSS counts every page mapped, and a fault maps the
# 64 KiB around it. docs/benchmarks.md, "Memory".
STATIC_RUSTFLAGS := -C target-feature=+crt-static \
  -C link-arg=-Wl,-z,pack-relative-relocs \
  -C link-arg=-Wl,--symbol-ordering-file=$(CURDIR)/build/symbol-order.txt \
  -C link-arg=-Wl,--no-warn-symbol-ordering

# The runtime and front end as shipped: release profile, static. `make bench` measures these.
release:
	RUSTFLAGS='$(STATIC_RUSTFLAGS)' $(CARGO) build --release --bins \
	  --target $(TARGET) --target-dir target/static
	strip target/static/$(TARGET)/release/nook-runtime target/static/$(TARGET)/release/nook

probe:
	RUSTFLAGS='$(STATIC_RUSTFLAGS)' $(CARGO) build --release -p runtime-tests \
	  --bin probe --target $(TARGET) --target-dir target/static

IMAGES := target/fixtures/images

fixtures: deps probe
	rootfs-fixtures/make-rootfs.sh $(FIXTURE) $(PROBE)
	rootfs-fixtures/make-images.sh $(IMAGES) $(FIXTURE)

# Build, make the busybox bundle, run it isolated: it prints its hostname and
# a `ps` in which it is PID 1 and alone.
demo: deps build fixtures
	rootfs-fixtures/make-bundle.sh target/demo-bundle $(PROBE)
	@echo "== nook-runtime run (hostname, then ps inside the container) =="
	$(RUNTIME) --root target/demo-state run --bundle target/demo-bundle nook-demo-$$$$
	@echo "== nook load + nook run --rm (the same, docker-style, from an image archive) =="
	target/debug/nook --root target/demo-store load -i $(IMAGES)/busybox-docker.tar
	target/debug/nook --root target/demo-store run --rm busybox sh -c 'hostname; ps'

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace --lib --bins

behaviour-root: build fixtures
	NOOK_TEST_MODE=root NOOK_SKIP_LOG=$(SKIP_LOG) $(CARGO) test -p runtime-tests --tests -- --test-threads=2

# The same suite inside a user namespace where only root is mapped (`unshare -r`).
behaviour-userns: build fixtures
	@if unshare -r true 2>/dev/null; then \
	  unshare -r env NOOK_TEST_MODE=userns NOOK_SKIP_LOG=$(SKIP_LOG) $(CARGO) test -p runtime-tests --tests -- --test-threads=2; \
	else echo "SKIP behaviour-userns: unshare -r is not permitted on this host" | tee -a $(SKIP_LOG); fi

behaviour: behaviour-root behaviour-userns

# The behaviour suite as a real unprivileged user (created by scripts/rootless-user.sh with
# /etc/subuid and /etc/subgid ranges), NOOK_TEST_MODE=rootless; docs/rootless.md.
test-rootless: deps build fixtures
	SKIP_LOG=$(SKIP_LOG) scripts/test-rootless.sh

# podman, containerd (ctr) and dockerd driving nook-runtime, each with private state under
# a temp dir, offline (image built from the fixture rootfs); one engine at a time.
test-engines: engine-deps build fixtures
	scripts/rootless-user.sh >/dev/null
	NOOK_TEST_MODE=root NOOK_SKIP_LOG=$(SKIP_LOG) $(CARGO) test -p runtime-tests --test engines -- --include-ignored --test-threads=1

# cgroup v2 suite: built on the host, each test binary run in a qemu guest that is a pure
# cgroup v2 host (scripts/run-in-vm.sh as cargo's runner; docs/vm.md). The whole checkout is
# shared: the guest sees the host's / read-only but not its /tmp, where a clone may live.
test-cgroup2:
	@if [ ! -f runtime-tests/tests/cgroup_v2.rs ]; then \
	  mkdir -p target; echo "SKIP test-cgroup2: runtime-tests/tests/cgroup_v2.rs not written yet" | tee -a $(SKIP_LOG); \
	else \
	  $(MAKE) vm-deps build fixtures && \
	  $(CARGO) test -p runtime-tests --test cgroup_v2 --test cgroup_v2_delegated --test security --no-run && \
	  CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$(CURDIR)/scripts/run-in-vm.sh VM_RW=$(CURDIR) \
	    NOOK_TEST_MODE=root NOOK_SKIP_LOG=$(SKIP_LOG) VM_TIMEOUT=1500 $(CARGO) test -p runtime-tests --test cgroup_v2 --test cgroup_v2_delegated -- --include-ignored && \
	  CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$(CURDIR)/scripts/run-in-vm.sh VM_RW=$(CURDIR) \
	    NOOK_TEST_MODE=root NOOK_SKIP_LOG=$(SKIP_LOG) VM_TIMEOUT=300 $(CARGO) test -p runtime-tests --test security -- --exact exec_runs_the_runtime_from_a_read_only_overlay_of_its_binary; \
	fi

test: deps
	@mkdir -p target && rm -f $(SKIP_LOG) && touch $(SKIP_LOG)
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) behaviour
	$(MAKE) test-rootless
	$(MAKE) test-engines
	$(MAKE) test-cgroup2
	@echo "== skipped: $$(wc -l < $(SKIP_LOG)) (reasons in $(SKIP_LOG)) =="
	@sort $(SKIP_LOG) | uniq -c | sort -rn | head -40

# build/symbol-order.txt from uprobes on an unstripped build of the shipped flags (as
# root; ~5 min, most of it the kernel removing 4500 probes). Then `make release`.
symbol-order: fixtures
	touch src/bin/nook-runtime.rs
	RUSTFLAGS='$(STATIC_RUSTFLAGS)' $(CARGO) build --release --bins \
	  --target $(TARGET) --target-dir target/static
	mkdir -p target/symbol-order
	cp target/static/$(TARGET)/release/nook-runtime target/symbol-order/
	touch src/bin/nook-runtime.rs
	python3 scripts/symbol-order.py target/symbol-order/nook-runtime $(FIXTURE) > target/symbol-order/order.txt
	mv target/symbol-order/order.txt build/symbol-order.txt

# Timings, printed (never asserted), one interleaved run: nook-runtime vs runc vs crun
# (start latency, exec, peak RSS, waiting container, smallest memory limit), the floor,
# the seccomp benchmarks; then the same in the cgroup v2 guest; then bench-images.
# Tables go to docs/benchmarks.md (scripts/bench.sh).
bench: release fixtures vm-deps
	scripts/bench.sh all
	$(MAKE) bench-images

bench-v2: release fixtures vm-deps
	scripts/bench.sh v2

# Not a timed test: load + unpack of a ~100 MiB multi-layer image, nook vs umoci
# (MiB/s and peak RSS, one run side by side). Numbers go to stdout.
bench-images: deps fixtures
	$(CARGO) build --release --bin nook
	rootfs-fixtures/bench-images.sh target/bench-images target/release/nook $(FIXTURE)

clean:
	$(CARGO) clean
