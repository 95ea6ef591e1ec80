#!/usr/bin/env bash
# compose-plugin.sh makes sure `docker compose` is the Docker Compose v2
# plugin at the version below.
#
# Debian bookworm packages only the old Python docker-compose 1.x, so the
# plugin is built from its Go module with the local Go toolchain (about three
# minutes on two cores the first time). The binary is kept in a cache
# directory, so later runs, and CI runs that restore the cache, only copy it.
#
# Environment:
#   COMPOSE_VERSION  module version to build (default below)
#   DOCKER_CONFIG    Docker client configuration (default ~/.docker)
#   XDG_CACHE_HOME   cache root (default ~/.cache)
set -euo pipefail

prog=compose-plugin
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

version=${COMPOSE_VERSION:-v2.40.3}
module=github.com/docker/compose/v2
plugin_dir=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
plugin=$plugin_dir/docker-compose
cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/devicegate
cached=$cache_dir/docker-compose-$version

command -v docker >/dev/null 2>&1 || die "no docker client in PATH"

# reports FILE prints the version a compose binary reports, like v2.40.3.
reports() { "$1" version --short 2>/dev/null | sed 's/^v*/v/'; }

if [ -x "$plugin" ] && [ "$(docker compose version --short 2>/dev/null | sed 's/^v*/v/')" = "$version" ]; then
	exit 0
fi

if ! { [ -x "$cached" ] && [ "$(reports "$cached")" = "$version" ]; }; then
	command -v go >/dev/null 2>&1 || die "no go in PATH; Go is needed to build compose"
	note "building compose $version from source (takes a few minutes)"
	dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	{ [ -n "$dir" ] && [ -d "$dir" ]; } || die "go mod download $module@$version gave no source directory"

	# `go install module@version` refuses modules whose go.mod has exclude
	# directives, as compose's does, so build inside a copy of the module.
	# The module cache is read-only: copy it somewhere writable first.
	work=$(mktemp -d)
	trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
	cp -R "$dir/." "$work"
	chmod -R u+w "$work"

	mkdir -p "$cache_dir"
	# Same flags as compose's own Makefile: the version is stamped at link
	# time, and CGO_ENABLED=0 gives a static binary like the released one.
	(
		cd "$work"
		CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
			-ldflags "-s -w -X $module/internal.Version=$version" \
			-o "$cached.tmp" ./cmd
	)
	mv "$cached.tmp" "$cached"
	[ "$(reports "$cached")" = "$version" ] || die "built $cached but it reports $(reports "$cached")"
fi

mkdir -p "$plugin_dir"
cp "$cached" "$plugin.tmp"
mv "$plugin.tmp" "$plugin"
got=$(docker compose version --short 2>/dev/null | sed 's/^v*/v/') || true
[ "$got" = "$version" ] || die "docker compose reports '${got:-nothing}', want $version; is $plugin shadowed by another plugin directory?"
note "docker compose $version installed in $plugin"
