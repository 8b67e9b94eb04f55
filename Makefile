# Berth build. `make` builds the three binaries into bin/; `make install`
# copies them to $(PREFIX)/bin (berth-monitor must sit beside berthd).
GO      ?= go
PREFIX  ?= /usr/local
BINDIR  := bin
# One version (the VERSION file) and the git commit, stamped into the berth
# CLI and the daemon (internal/version).
VERSION   := $(shell cat VERSION)
GITCOMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION_LDFLAGS := -X github.com/berth-dev/berth/internal/version.Version=$(VERSION) -X github.com/berth-dev/berth/internal/version.GitCommit=$(GITCOMMIT)
GOFLAGS_BUILD := -trimpath

.PHONY: all build install test vet clean web

all: build

build: $(BINDIR)/berthd $(BINDIR)/berth $(BINDIR)/berth-compose $(BINDIR)/berth-build $(BINDIR)/berth-monitor $(BINDIR)/berth-cmon

# Always rebuild: go's own cache makes this cheap and keeps make honest.
.PHONY: $(BINDIR)/berthd $(BINDIR)/berth $(BINDIR)/berth-compose $(BINDIR)/berth-build $(BINDIR)/berth-monitor $(BINDIR)/berth-cmon
$(BINDIR)/berthd:
	$(GO) build $(GOFLAGS_BUILD) -ldflags "$(VERSION_LDFLAGS)" -o $@ ./cmd/berthd
# Every berth command pays the CLI's start-up: built without cgo it is a
# static binary (no dynamic loader, libc or cgo thread set-up; the
# pure-Go DNS resolver and user lookup serve a client well).
$(BINDIR)/berth:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags "$(VERSION_LDFLAGS)" -o $@ ./cmd/berth
# `berth compose` runs berth-compose, which must sit beside berth (or in PATH).
$(BINDIR)/berth-compose:
	$(GO) build $(GOFLAGS_BUILD) -ldflags "$(VERSION_LDFLAGS)" -o $@ ./cmd/berth-compose
# `berth build` runs berth-build for builds that need a BuildKit client
# session (--ssh, -o type=local|tar, local caches); it sits beside berth.
$(BINDIR)/berth-build:
	$(GO) build $(GOFLAGS_BUILD) -ldflags "$(VERSION_LDFLAGS)" -o $@ ./cmd/berth-build
# The monitor runs once per container: strip it to keep its resident size small.
$(BINDIR)/berth-monitor:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags "-s -w" -o $@ ./cmd/berth-monitor
# The C monitor berthd runs for containers logging json-file, cri or none
# (internal/monitor.Binary); it must sit beside berth-monitor.
$(BINDIR)/berth-cmon:
	@mkdir -p $(BINDIR)
	$(MAKE) -C cmon O=$(abspath $(BINDIR))

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINDIR)/berthd $(BINDIR)/berth $(BINDIR)/berth-compose $(BINDIR)/berth-build $(BINDIR)/berth-monitor $(BINDIR)/berth-cmon $(DESTDIR)$(PREFIX)/bin/

# The dashboard's bundle (web/dist, embedded into berthd) is committed, so
# `go build` needs no node. `make web` rebuilds it from web/ui with the
# locked npm packages; the same sources and lockfile give the same bytes
# (CI can check with: make web && git diff --exit-code web/dist).
web:
	cd web/ui && npm ci --no-audit --no-fund && npm run build

vet:
	$(GO) vet ./...

test:
	scripts/test.sh

clean:
	rm -rf $(BINDIR)
