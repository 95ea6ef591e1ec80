# shellcheck shell=bash
# e2e.sh holds what the end-to-end scripts (docker-e2e.sh, demo-e2e.sh)
# share: their messages, a machine made ready for a Docker suite, and the
# timed go test run. Each script sets prog, changes to the repository root
# and sources this file, so that it still runs on its own on a fresh machine.

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

# docker_ready makes sure Go is there, an engine answers, the Compose v2
# plugin is installed and the Dockerfile's base images exist (stand-ins when
# they cannot be pulled).
docker_ready() {
	command -v go >/dev/null 2>&1 || die "no go in PATH"
	bash scripts/docker-engine.sh
	bash scripts/compose-plugin.sh
	bash scripts/standin-images.sh
}

# run_suite TAG TIMEOUT PACKAGE [go test flags...] runs one suite, says how
# long it took and exits with its status (the scripts' EXIT traps then
# clean up).
run_suite() {
	local tag=$1 timeout=$2 pkg=$3 start status=0
	shift 3
	start=$(date +%s)
	go test -tags "$tag" -count=1 -v -timeout "$timeout" "$@" "$pkg" || status=$?
	note "go test took $(($(date +%s) - start))s"
	exit "$status"
}
