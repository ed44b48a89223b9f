# fieldlog: `make demo` runs the main job end to end, `make test` runs every test.
# Both install what is missing first (Debian packages libsqlite3-dev, libsodium-dev, zlib1g-dev;
# for the tests also, from PyPI, the packages tools/install-test-deps.sh names).

SWIFT ?= swift
BIN = .build/debug/fieldlog

.PHONY: deps build demo ui ui-screenshots dashboard-screenshots test lint format release clean bench soak

deps:
	@./tools/install-deps.sh

build: deps
	$(SWIFT) build

demo: build
	./tools/demo.sh $(BIN)

# The screens on the demo county, as cadre 王强's laptop: makes the demo data once in DEMO_DIR.
DEMO_DIR ?= /tmp/fieldlog-ui-demo
ui: build
	@test -d $(DEMO_DIR)/laptop-wang || DEMO_DIR=$(DEMO_DIR) ./tools/demo.sh $(BIN) >/dev/null
	FIELDLOG_HOME=$(DEMO_DIR)/laptop-wang FIELDLOG_PASSPHRASE="demo passphrase 演示口令" $(BIN) ui

# The browser test again, saving the screenshots docs/ui.md shows.
ui-screenshots: deps
	@./tools/install-test-deps.sh
	$(SWIFT) build $(TESTFLAGS) --product fieldlog
	python3 tools/browser/ui_browser.py --bin .build/release/fieldlog --screenshots docs/ui

# The console's browser test again, saving the screenshots docs/dashboard.md shows.
dashboard-screenshots: deps
	@./tools/install-test-deps.sh
	$(SWIFT) build $(TESTFLAGS) --product fieldlog
	python3 tools/browser/dashboard_browser.py --bin .build/release/fieldlog --screenshots docs/dashboard

# Tests run on an optimised build: the convergence and crash suites do hundreds of thousands of
# commits, about three times faster than in a debug build. -enable-testing keeps @testable imports.
TESTFLAGS = -c release -Xswiftc -enable-testing

test: deps lint
	@./tools/install-test-deps.sh
	$(SWIFT) build $(TESTFLAGS) --build-tests
	./tools/postgres/with-cluster.sh $(SWIFT) test $(TESTFLAGS) --skip-build
	@echo "== fault soak: a hub and 4 laptops under SIGKILLs and a faulty proxy for 60 s, then every check (tools/soak/soak.py)"
	python3 tools/soak/soak.py --seconds 60
	@echo "== the soak's checks catch a lost accepted commit and a secret in a log (--sabotage)"
	python3 tools/soak/soak.py --seconds 10 --sabotage
	@echo "== the screens in a real browser: headless chromium through Selenium (tools/browser/ui_browser.py)"
	python3 tools/browser/ui_browser.py --bin .build/release/fieldlog
	@echo "== the hub's console in a real browser: import, enrollment, a laptop's sync, a filtered export (tools/browser/dashboard_browser.py)"
	python3 tools/browser/dashboard_browser.py --bin .build/release/fieldlog
	@echo "== benchmark smoke run: every scenario on a small county, figures checked for sanity (no timing assertions)"
	./tools/postgres/with-cluster.sh .build/release/fieldlog-bench --smoke

# The formatter ships with the toolchain; .swift-format holds the style (4 spaces, 120 columns).
FORMATTED = Sources Tests tools fuzz/Sources Package.swift fuzz/Package.swift

lint:
	@echo "== swift format lint --strict (run \`make format\` to fix)"
	$(SWIFT) format lint --strict --recursive --parallel $(FORMATTED)

format:
	$(SWIFT) format format --in-place --recursive --parallel $(FORMATTED)

release: deps
	$(SWIFT) build -c release

clean:
	rm -rf .build

# Measured speeds beside raw SQLite in the same run (see docs/performance.md).
bench: deps
	@./tools/install-test-deps.sh
	$(SWIFT) build $(TESTFLAGS) --product fieldlog
	$(SWIFT) build $(TESTFLAGS) --product fieldlog-bench
	./tools/postgres/with-cluster.sh .build/release/fieldlog-bench --json bench-results.json $(BENCHFLAGS)

# The fault soak for longer: make soak SOAKFLAGS="--seconds 1800 --laptops 5"
soak: deps
	$(SWIFT) build $(TESTFLAGS) --product fieldlog
	python3 tools/soak/soak.py $(SOAKFLAGS)
