# fieldlog: `make demo` runs the main job end to end, `make test` runs every test.
# Both install what is missing first (Debian packages libsqlite3-dev and libsodium-dev).

SWIFT ?= swift
BIN = .build/debug/fieldlog

.PHONY: deps build demo test release clean format-lint

deps:
	@./tools/install-deps.sh

build: deps
	$(SWIFT) build

demo: build
	./tools/demo.sh $(BIN)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel

release: deps
	$(SWIFT) build -c release

clean:
	rm -rf .build
