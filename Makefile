# Berth build. `make` builds the three binaries into bin/; `make install`
# copies them to $(PREFIX)/bin (berth-monitor must sit beside berthd).
GO      ?= go
PREFIX  ?= /usr/local
BINDIR  := bin
GOFLAGS_BUILD := -trimpath

.PHONY: all build install test vet clean

all: build

build: $(BINDIR)/berthd $(BINDIR)/berth $(BINDIR)/berth-monitor

# Always rebuild: go's own cache makes this cheap and keeps make honest.
.PHONY: $(BINDIR)/berthd $(BINDIR)/berth $(BINDIR)/berth-monitor
$(BINDIR)/berthd:
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/berthd
$(BINDIR)/berth:
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/berth
# The monitor runs once per container: strip it to keep its resident size small.
$(BINDIR)/berth-monitor:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags "-s -w" -o $@ ./cmd/berth-monitor

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINDIR)/berthd $(BINDIR)/berth $(BINDIR)/berth-monitor $(DESTDIR)$(PREFIX)/bin/

vet:
	$(GO) vet ./...

test:
	scripts/test.sh

clean:
	rm -rf $(BINDIR)
