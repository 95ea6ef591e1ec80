#!/usr/bin/env bash
# docker-engine.sh makes sure a Docker engine answers on this machine.
#
# It does nothing when `docker info` already works. Otherwise it installs
# Debian's engine (package docker.io) if dockerd is missing, starts dockerd in
# the background and waits until `docker info` answers.
#
# Meant for CI runners and development machines without systemd. Needs root
# (or sudo) for the install and for dockerd.
#
# Environment:
#   DOCKERD_FLAGS    extra dockerd flags; when set, no fallback is tried
#   DOCKERD_TIMEOUT  seconds to wait for the engine (default 60)
#   DOCKERD_STATE    directory for the log and pidfile
#                    (default ${XDG_RUNTIME_DIR:-/tmp}/devicegate-dockerd)
set -euo pipefail

prog=docker-engine
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
	exit 0
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot install or start dockerd"
	sudo=sudo
fi

if ! command -v dockerd >/dev/null 2>&1; then
	note "installing docker.io from the Debian archive"
	# docker.io also puts an older client in /usr/bin/docker. A client that
	# is already installed in /usr/local/bin comes first in PATH and stays
	# the one in use; the older client is only a fallback.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
	command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not in PATH"
	# The package's init script may have started an engine already.
	if engine_up; then
		exit 0
	fi
fi

state=${DOCKERD_STATE:-${XDG_RUNTIME_DIR:-/tmp}/devicegate-dockerd}
timeout=${DOCKERD_TIMEOUT:-60}
log=$state/dockerd.log
pidfile=$state/dockerd.pid
mkdir -p "$state"

# A dockerd from an earlier run that is still starting: wait for it instead
# of starting a second one on the same socket.
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	note "waiting for dockerd $(cat "$pidfile") started earlier"
	for _ in $(seq "$timeout"); do
		engine_up && exit 0
		sleep 1
	done
	die "dockerd $(cat "$pidfile") does not answer after ${timeout}s; see $log"
fi

# start_engine FLAGS... starts dockerd and waits for it. It returns 1 when
# dockerd exits before it answers (so a fallback can be tried) and stops the
# script when it is still silent after the timeout.
start_engine() {
	note "starting dockerd${*:+ $*} (log: $log)"
	# setsid: dockerd must outlive this script and the shell that ran it.
	$sudo setsid dockerd --pidfile "$pidfile" "$@" >>"$log" 2>&1 </dev/null &
	local pid=$!
	for _ in $(seq "$timeout"); do
		if engine_up; then
			note "engine ready"
			return 0
		fi
		if [ -n "$sudo" ] && $sudo docker info >/dev/null 2>&1; then
			die "dockerd runs but $(id -un) may not use its socket; hint: sudo usermod -aG docker $(id -un), then log in again"
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			note "dockerd exited; last log lines:"
			tail -n 5 "$log" >&2
			return 1
		fi
		sleep 1
	done
	die "dockerd does not answer after ${timeout}s; see $log"
}

if [ -n "${DOCKERD_FLAGS:-}" ]; then
	# shellcheck disable=SC2086 # flags are meant to be split
	start_engine $DOCKERD_FLAGS || die "dockerd $DOCKERD_FLAGS failed; see $log"
	exit 0
fi

# Defaults first: overlay2 storage and iptables NAT for the bridge network.
# They work on Debian 12 hosts and CI runners with a stock kernel.
# Machines that are themselves containers or sandboxes may lack the
# kernel's netfilter tables; dockerd then exits while creating the bridge,
# so the second try runs without iptables. Containers on the bridge then
# have no outbound NAT: image builds that download Go modules need
# `docker build --network host` (build.network: host in Compose).
# Last, when overlay mounts are refused (overlay on overlay, some
# unprivileged setups), the vfs driver always works, only slower and
# bigger on disk.
start_engine && exit 0
start_engine --iptables=false --ip6tables=false && exit 0
start_engine --iptables=false --ip6tables=false --storage-driver=vfs && exit 0
die "dockerd does not start with any known settings; see $log"
