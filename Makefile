# The targets users type. The build itself is Meson (meson.build); this file
# only wires set-up, build directories and the test/bench/demo scripts.
#
#   make          build (build/telltale)
#   make deps     install Debian packages and DuckDB (root, idempotent)
#   make test     unit, CLI and integration tests; again under ASan+UBSan; fuzzers briefly
#   make demo     the pipeline on a simulated fleet, no external services
#   make bench    benchmarks against the tools users would use instead
#   make fuzz     run the fuzz targets longer (FUZZ_SECONDS=60)

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
MESON_OPTS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps build test test-unit test-asan test-fuzz demo bench fuzz clean format

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@ln -sf $(BUILD)/cli/telltale telltale

$(ASAN_BUILD)/build.ninja: | deps
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug $(MESON_OPTS)

$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_lundef=false -Dbuildtype=debugoptimized $(MESON_OPTS)

test: build
	@scripts/run-tests

test-unit: build
	meson test -C $(BUILD) --print-errorlogs

test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	meson test -C $(ASAN_BUILD) --print-errorlogs

test-fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	scripts/run-fuzz $(FUZZ_BUILD) 10

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	scripts/run-fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	@scripts/demo

bench: build
	@bench/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) telltale
