# Fourmi — a desktop peer for the PeerTube federation.
# Every Go command gets the same build tags:
#   nosqlite         anacrolix/torrent without its own SQLite (it clashes with mattn/go-sqlite3)
#   migrated_fynedo  Fyne's threading model: UI changes only through fyne.Do
#   sqlite_fts5      full-text search in the library
TAGS    := nosqlite migrated_fynedo sqlite_fts5
GO      ?= go
GOTAGS  := -tags '$(TAGS)'
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
DEB_PKGS := gcc g++ pkg-config libgl1-mesa-dev xorg-dev xvfb xauth ffmpeg mpv aria2
space := $(subst ,, )
comma := ,

.PHONY: all deps build run test vet bench bench-swarm screenshots package clean

all: build

## deps: install the system packages Fourmi needs (Debian/Ubuntu), then Go modules
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "deps: system packages present"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		echo "deps: installing$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq$$missing; \
	else \
		echo "deps: please install: a C compiler, OpenGL and X11 development headers, ffmpeg, mpv"; \
		echo "      (Fedora: gcc libXcursor-devel libXrandr-devel mesa-libGL-devel libXi-devel libXinerama-devel libXxf86vm-devel ffmpeg mpv;"; \
		echo "       macOS: xcode-select --install; brew install ffmpeg mpv)"; \
	fi
	$(GO) mod download

## build: bin/fourmi
build:
	$(GO) build $(GOTAGS) -ldflags '$(LDFLAGS)' -o bin/fourmi .

## run: open the app on the default library (SQLite in the user data dir)
run: build
	./bin/fourmi

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet $(GOTAGS) ./...

## test: vet, then every test with the race detector
test: vet
	LANG=en_US.UTF-8 $(GO) test $(GOTAGS) -race -count=1 -timeout 20m ./...

## bench: one line per figure, "BENCH <name> <value> <unit>"
bench: build
	@LANG=en_US.UTF-8 FOURMI_BENCH=1 FOURMI_BIN=$(CURDIR)/bin/fourmi $(GO) test $(GOTAGS) -p 1 -count=1 -v -run '^Test[A-Za-z]*BenchReport$$' \
		-timeout 30m ./... > bin/bench.log 2>&1; status=$$?; grep '^BENCH' bin/bench.log; \
	if [ $$status -ne 0 ]; then grep -v '^BENCH' bin/bench.log; exit $$status; fi

## bench-swarm: origin egress and viewers' start with N = 2, 8, 16 fourmi viewers (see BENCHMARKS.md)
bench-swarm: build
	@LANG=en_US.UTF-8 FOURMI_SWARM_BENCH=1 FOURMI_BIN=$(CURDIR)/bin/fourmi $(GO) test $(GOTAGS) -count=1 -v -run '^TestSwarmBench$$' \
		-timeout 20m ./internal/swarmbench/ > bin/bench-swarm.log 2>&1; status=$$?; grep '^BENCH' bin/bench-swarm.log; \
	if [ $$status -ne 0 ]; then grep -v '^BENCH' bin/bench-swarm.log | tail -50; exit $$status; fi

## screenshots: render every screen to docs/screenshots/*.png (headless, local demo catalog)
screenshots:
	mkdir -p docs/screenshots
	LANG=en_US.UTF-8 FOURMI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test $(GOTAGS) -count=1 -run '^TestScreenshots$$' ./gui/

## package: a desktop bundle with fyne package (installs the fyne tool if missing)
package:
	@command -v fyne >/dev/null 2>&1 || $(GO) install fyne.io/tools/cmd/fyne@latest
	fyne package --release --tags '$(subst $(space),$(comma),$(TAGS))'

clean:
	rm -rf bin dist
