# fieldlog: `make demo` runs the main job end to end, `make test` runs every test.
# Both install what is missing first (Debian packages libsqlite3-dev, libsodium-dev, zlib1g-dev;
# for the tests also openpyxl from PyPI, an independent reader of the .xlsx exports).

SWIFT ?= swift
BIN = .build/debug/fieldlog

.PHONY: deps build demo test release clean bench

deps:
	@./tools/install-deps.sh

build: deps
	$(SWIFT) build

demo: build
	./tools/demo.sh $(BIN)

# Tests run on an optimised build: the convergence and crash suites do hundreds of thousands of
# commits, about three times faster than in a debug build. -enable-testing keeps @testable imports.
TESTFLAGS = -c release -Xswiftc -enable-testing

test: deps
	@./tools/install-test-deps.sh
	$(SWIFT) build $(TESTFLAGS) --build-tests
	$(SWIFT) test $(TESTFLAGS) --skip-build
	@echo "== benchmark smoke run: every scenario on a small county, figures checked for sanity (no timing assertions)"
	.build/release/fieldlog-bench --smoke

release: deps
	$(SWIFT) build -c release

clean:
	rm -rf .build

# Measured speeds beside raw SQLite in the same run (see docs/performance.md).
bench: deps
	$(SWIFT) build $(TESTFLAGS) --product fieldlog
	$(SWIFT) build $(TESTFLAGS) --product fieldlog-bench
	.build/release/fieldlog-bench --json bench-results.json $(BENCHFLAGS)
