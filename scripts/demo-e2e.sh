#!/usr/bin/env bash
# demo-e2e.sh runs the demo stack's end-to-end test (e2e/demo): the README's
# "Try it now" commands on a real Docker engine, with a person's sign-in,
# approval and refusal played by a real headless Chromium. It makes sure an
# engine answers, the Compose v2 plugin is installed, the Dockerfile's base
# images exist (stand-ins when they cannot be pulled) and Debian's chromium
# is installed, then runs the test.
#
#   bash scripts/demo-e2e.sh [go test flags...]
#
# Environment:
#   DEMO_E2E_ARTIFACTS  directory for the screenshots (default e2e/demo/artifacts)
#   DEMO_E2E_TIMEOUT    go test -timeout (default 30m: a first image build
#                       compiles the standard library)
#   and those of docker-engine.sh, compose-plugin.sh and standin-images.sh.
set -euo pipefail

prog=demo-e2e
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/e2e.sh
. scripts/lib/e2e.sh
docker_ready

if ! command -v chromium >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || die "chromium is not installed; run: sudo apt-get install -y chromium"
	note "installing Debian's chromium"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
chromium --version >&2

# The test removes its stack itself; when go test is killed (its -timeout,
# ^C) that does not run. The suite refuses to start while a demo stack
# exists, so whatever is left now is the suite's own.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$(docker ps -aq --filter label=com.docker.compose.project=devicegate-demo)" ]; then
		note "removing the demo stack left by the test"
		docker compose -f compose.demo.yaml down -v --remove-orphans >/dev/null 2>&1 || true
	fi
}
if [ -n "$(docker ps -aq --filter label=com.docker.compose.project=devicegate-demo)" ]; then
	die "a devicegate-demo stack exists already; remove it first: docker compose -f compose.demo.yaml down -v"
fi
trap cleanup EXIT

run_suite demoe2e "${DEMO_E2E_TIMEOUT:-30m}" ./e2e/demo/ "$@"
