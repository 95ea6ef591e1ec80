#!/usr/bin/env bash
# docker-e2e.sh runs the end-to-end tests on a real Docker engine
# (e2e/docker): it makes sure an engine answers, the Compose v2 plugin is
# installed, the Dockerfile's base images exist (stand-ins when they cannot
# be pulled) and the test identity provider's packages are installed, then
# runs the suite.
#
#   bash scripts/docker-e2e.sh [go test flags...]
#
# e.g. `bash scripts/docker-e2e.sh -run 'TestStack/(build|up|tgauth)'`.
#
# Environment:
#   DOCKER_E2E_REPORT  file for the measurements, as Markdown
#   DOCKER_E2E_TIMEOUT go test -timeout (default 30m: a first image build
#                      compiles the standard library)
#   and those of docker-engine.sh, compose-plugin.sh and standin-images.sh.
set -euo pipefail

prog=docker-e2e
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/e2e.sh
. scripts/lib/e2e.sh
docker_ready

node_dir=internal/testing/oidctest/node
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
	[ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
	command -v npm >/dev/null 2>&1 || die "no npm in PATH; the test identity provider needs Node.js 20 or later"
	note "installing the test identity provider's packages"
	npm ci --prefix "$node_dir" --no-audit --no-fund
fi

# TestOpenClawExisting installs the plugin as a person would: packed with
# `openclaw plugins pack` (which fetches its build tool, esbuild, and the
# openclaw CLI the first time).
rm -f dist/devicegate-openclaw-plugin-e2e.tgz
bash scripts/openclaw-plugin.sh pack dist/devicegate-openclaw-plugin-e2e.tgz >/dev/null

# The suite removes its containers and volumes itself. When go test is
# killed (its -timeout, ^C) that clean-up does not run: remove whatever
# carries the suite's label.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local ids label
	# TestOpenClawExisting's stack has a label of its own.
	for label in devicegate.e2e devicegate.e2e-existing; do
		ids=$(docker ps -aq --filter "label=$label") || return 0
		if [ -n "$ids" ]; then
			note "removing containers left by the suite"
			# shellcheck disable=SC2086 # one ID per word
			docker rm -f -v $ids >/dev/null || true
		fi
		ids=$(docker volume ls -q --filter "label=$label") || return 0
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			docker volume rm -f $ids >/dev/null || true
		fi
	done
}
trap cleanup EXIT

run_suite dockere2e "${DOCKER_E2E_TIMEOUT:-30m}" ./e2e/docker/ "$@"
