#!/usr/bin/env bash
# standin-images.sh creates local stand-ins for the base images our
# Dockerfile starts from, for machines that cannot pull from a registry.
#
# The images get the same names as the Dockerfile's defaults, so the
# Dockerfile builds unchanged:
#
#   golang:1.26-bookworm
#       the local Go installation (GOROOT of `go env`) in /usr/local/go,
#       a statically linked busybox for the shell and the usual commands of
#       RUN steps, CA certificates, and the environment of the official
#       image (PATH, GOPATH=/go, GOTOOLCHAIN=local, WORKDIR /go). Enough
#       for CGO_ENABLED=0 builds; there is no C compiler. Debian's busybox
#       lacks some commands of the real image (install, for one): keep RUN
#       steps to plain mkdir, chown, cp.
#   gcr.io/distroless/static-debian12:nonroot
#       CA certificates, /etc/passwd and /etc/group with root, nobody and
#       nonroot (65532), /tmp, /home/nonroot; USER 65532. No shell.
#   ghcr.io/openclaw/openclaw:2026.9.6, docker:28-cli
#       the base images of Dockerfile.openclaw: scripts/standin-openclaw.sh
#       (after debian:bookworm-slim, which the first is made from).
#   debian:bookworm-slim
#       a minimal Debian 12 made by debootstrap (--variant=minbase) from the
#       machine's own Debian mirror (installed with apt where missing), with
#       apt's lists, caches, documentation and locales removed as in the
#       official slim image, and the same deb822 sources (bookworm,
#       bookworm-updates, bookworm-security) so that RUN apt-get works where
#       that mirror is reachable. About a minute, most of it downloads.
#
# Images that already exist are left alone (so a real image, once pulled,
# wins); FORCE=1 replaces them. The Go minor version of the stand-in is
# whatever is installed locally: it must match the image tag.
set -euo pipefail

prog=standin-images
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

go_image=${GO_IMAGE:-golang:1.26-bookworm}
runtime_image=${RUNTIME_IMAGE:-gcr.io/distroless/static-debian12:nonroot}
debian_image=${DEBIAN_IMAGE:-debian:bookworm-slim}
certs=/etc/ssl/certs/ca-certificates.crt

command -v docker >/dev/null 2>&1 || die "no docker client in PATH"
docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/docker-engine.sh first"
[ -s "$certs" ] || die "$certs is missing; install the ca-certificates package"

have() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

work=$(mktemp -d)
# A debootstrap that fails half way may leave /proc or /sys mounted in its
# target: unmount before removing.
cleanup() {
	local m
	for m in proc sys dev/pts dev; do
		mountpoint -q "$work/debian/$m" 2>/dev/null && umount -l "$work/debian/$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT

# users ROOTFS writes the passwd and group files of distroless images.
users() {
	mkdir -p "$1/etc"
	cat >"$1/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/sbin/nologin
		nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
		nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
	EOF
	cat >"$1/etc/group" <<-'EOF'
		root:x:0:
		nobody:x:65534:
		tty:x:5:
		staff:x:50:
		nonroot:x:65532:
	EOF
}

# import TARBALL IMAGE CHANGES... imports a root file system archive.
import() {
	local tarball=$1 image=$2
	shift 2
	local changes=()
	for c in "$@"; do changes+=(--change "$c"); done
	docker import "${changes[@]}" "$tarball" "$image" >/dev/null
	note "created $image ($(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec))"
}

# pack ROOTFS TARBALL archives a directory with every file owned by root.
pack() { tar -C "$1" --owner=0 --group=0 --numeric-owner -cf "$2" .; }

if have "$runtime_image"; then
	note "$runtime_image exists"
else
	r=$work/runtime
	users "$r"
	mkdir -p "$r/etc/ssl/certs" "$r/home/nonroot" "$r/tmp"
	cp "$certs" "$r/etc/ssl/certs/ca-certificates.crt"
	chmod 1777 "$r/tmp"
	chmod 700 "$r/home/nonroot"
	# Everything is root's but the home directory, as in distroless.
	tar -C "$r" --owner=0 --group=0 --numeric-owner --exclude=./home/nonroot -cf "$work/runtime.tar" .
	tar -C "$r" --owner=65532 --group=65532 --numeric-owner -rf "$work/runtime.tar" ./home/nonroot
	import "$work/runtime.tar" "$runtime_image" \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
		'USER 65532' \
		'WORKDIR /home/nonroot'
fi

if have "$go_image"; then
	note "$go_image exists"
else
	command -v go >/dev/null 2>&1 || die "no go in PATH; the Go stand-in is made from the local installation"
	goroot=$(go env GOROOT)
	gover=$(go env GOVERSION)
	tag=${go_image#*:}
	case "$gover" in
	go"${tag%%-*}" | go"${tag%%-*}".*) ;;
	*) die "local Go is $gover but the image tag is $tag" ;;
	esac

	# busybox-static from the Debian archive, unpacked without installing.
	deb=$work/deb
	mkdir -p "$deb"
	if ! (cd "$deb" && apt-get download busybox-static >/dev/null 2>&1); then
		apt-get update -qq
		(cd "$deb" && apt-get download busybox-static >/dev/null)
	fi
	b=$work/go
	dpkg-deb -x "$deb"/busybox-static_*.deb "$deb/x"
	mkdir -p "$b/bin" "$b/etc/ssl/certs" "$b/go/bin" "$b/go/src" "$b/root" "$b/tmp" "$b/usr/local"
	cp "$deb/x/bin/busybox" "$b/bin/busybox"
	for applet in $("$b/bin/busybox" --list); do
		[ -e "$b/bin/$applet" ] || ln -s busybox "$b/bin/$applet"
	done
	users "$b"
	cp "$certs" "$b/etc/ssl/certs/ca-certificates.crt"
	echo 'hosts: files dns' >"$b/etc/nsswitch.conf"
	chmod 1777 "$b/tmp" "$b/go"
	cp -a "$goroot" "$b/usr/local/go"
	pack "$b" "$work/go.tar"
	import "$work/go.tar" "$go_image" \
		"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"ENV GOLANG_VERSION=${gover#go}" \
		'ENV GOPATH=/go' \
		'ENV GOTOOLCHAIN=local' \
		'ENV HOME=/root' \
		'WORKDIR /go' \
		'CMD ["sh"]'
fi

if have "$debian_image"; then
	note "$debian_image exists"
else
	if ! command -v debootstrap >/dev/null 2>&1; then
		note "installing debootstrap"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	fi
	# The mirror this machine's apt uses (the first Debian one), so that the
	# stand-in needs no network this machine lacks.
	# DEBIAN_MIRROR overrides it.
	mirror=${DEBIAN_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null |
		grep -m1 -E '/debian/?$' || true)}
	mirror=${mirror%/}
	[ -n "$mirror" ] || die "no Debian mirror in apt's sources; set DEBIAN_MIRROR to one (e.g. the URI in /etc/apt/sources.list)"
	d=$work/debian
	note "debootstrap bookworm from $mirror"
	debootstrap --variant=minbase bookworm "$d" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		die "debootstrap failed: $(tail -n 5 "$work/debootstrap.log")"
	# As the official slim image: no lists, caches, documentation or locales,
	# and dpkg keeps them out of later installs too.
	rm -rf "$d"/var/lib/apt/lists/* "$d"/var/cache/apt/*.bin "$d"/var/cache/apt/archives/*.deb \
		"$d"/var/log/* "$d"/usr/share/doc/* "$d"/usr/share/man/* "$d"/usr/share/info/*
	find "$d/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	cat >"$d/etc/dpkg/dpkg.cfg.d/docker" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-include /usr/share/locale/locale.alias
	EOF
	cat >"$d/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
		DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		Dir::Cache::pkgcache "";
		Dir::Cache::srcpkgcache "";
	EOF
	rm -f "$d/etc/apt/sources.list"
	security=${mirror%/debian}/debian-security
	cat >"$d/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $mirror
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $security
		Suites: bookworm-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	: >"$d/etc/hostname"
	# Keep owners as they are (debootstrap made them): not pack, which makes
	# every file root's.
	tar -C "$d" --numeric-owner -cf "$work/debian.tar" .
	rm -rf "$d"
	import "$work/debian.tar" "$debian_image" \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'CMD ["bash"]'
fi

bash "$(dirname "$0")/standin-openclaw.sh"
