# devicegate. Two tiers:
#   make check  the contributor's loop: format, tidy, vet, staticcheck and
#               the unit and integration tests without the race detector
#               (under 3 minutes on 2 cores)
#   make test   every test a user or CI runs: the same checks, the tests
#               under the race detector, each fuzz target briefly, and the
#               Docker suites
GO       ?= go
NODE_DIR := internal/testing/oidctest/node

.PHONY: test test-go deps check lint skills openclaw-plugin-check openclaw-plugin unit race fuzz-short fuzz-long docker-e2e demo-e2e soak bench build clean

test: test-go docker-e2e demo-e2e

# Everything but the Docker suites.
test-go: deps lint skills openclaw-plugin-check race fuzz-short

check: deps lint unit

# The test identity provider (oidc-provider) comes from the npm registry,
# pinned by its lockfile.
deps: $(NODE_DIR)/node_modules/.package-lock.json
$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund
	$(GO) mod download

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@out=$$(gofmt -l cmd internal bench skills e2e 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The skills under OpenClaw's own validator (quick_validate.py from the
# openclaw npm package the OpenClaw test image pins; needs python3-yaml).
skills:
	bash scripts/skills-validate.sh

# The OpenClaw plugin under `openclaw plugins validate` (the openclaw CLI
# the OpenClaw test image pins; installed once, about a minute).
openclaw-plugin-check:
	bash scripts/openclaw-plugin.sh validate

# The plugin packed for `openclaw plugins install FILE` (README, Add
# devicegate to an OpenClaw you already run).
openclaw-plugin:
	bash scripts/openclaw-plugin.sh pack

# Provider-backed tests skip when the npm packages are missing; here they
# must run.
unit:
	DEVICEGATE_REQUIRE_PROVIDER=1 DEVICEGATE_REQUIRE_TOOLS=1 $(GO) test -count=1 ./...
	node --test openclaw/plugin/

race:
	DEVICEGATE_REQUIRE_PROVIDER=1 DEVICEGATE_REQUIRE_TOOLS=1 $(GO) test -race -count=1 ./...
	node --test openclaw/plugin/

# Each fuzz target briefly; `make fuzz-long FUZZTIME=10m` for a real run.
FUZZTIME ?= 5s
fuzz-short:
	@./scripts/fuzz.sh $(FUZZTIME)
fuzz-long:
	@./scripts/fuzz.sh $(or $(FUZZTIME),10m)

# The long variants: 500 kill -9 during refresh, a 5-minute rotation soak.
soak: deps
	DEVICEGATE_CRASH_RUNS=500 DEVICEGATE_SOAK=5m $(GO) test -count=1 -parallel 1 -timeout 30m -v -run 'TestCrashConsistency|TestRotationSoak' ./cmd/sidecar

# Side-by-side measurements (needs Debian's python3-httpx and gh, and a
# Docker engine for the docker exec round trips); writes docs/BENCHMARKS.md.
bench: deps
	$(GO) test ./internal/session -run '^$$' -bench . -benchmem
	$(GO) test ./internal/gate ./internal/audit ./internal/toolproxy -run '^$$' -bench . -benchmem
	$(GO) test ./cmd/sidecar -run '^$$' -bench ToolProxyRequest -benchmem
	$(GO) test ./internal/bridge -run '^$$' -bench CodeFlowPaste -benchtime 50x
	DOCKER_E2E_REPORT=$(CURDIR)/docs/DOCKER-E2E.md bash scripts/docker-e2e.sh -run '^TestStack$$'
	$(GO) run ./bench

# The end-to-end suite on a real Docker engine (installs and starts one
# where none runs; needs root).
docker-e2e: deps
	bash scripts/docker-e2e.sh

# The demo stack (compose.demo.yaml) on a real Docker engine, signed in and
# declined by a headless Chromium (installs Debian's chromium where missing;
# needs root for that and for the engine). Screenshots: e2e/demo/artifacts.
demo-e2e:
	bash scripts/demo-e2e.sh

# The static binaries into bin/, as the Dockerfile builds them; the images
# are `docker build --target sidecar|tool|demo-idp .` (see Dockerfile).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o bin/ ./cmd/sidecar ./cmd/tgauth ./cmd/demo-idp

clean:
	rm -rf bin
