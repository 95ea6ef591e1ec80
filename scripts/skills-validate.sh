#!/usr/bin/env bash
# skills-validate.sh checks every skill in skills/ with OpenClaw's own
# validator, skills/skill-creator/scripts/quick_validate.py of the openclaw
# npm package, at the version e2e/openclaw/image/package-lock.json pins
# (checked against the lockfile's integrity hash). It runs under python3
# with PyYAML (Debian's python3-yaml): without it the validator falls back
# to a lax parser that accepts invalid YAML, so the script refuses to run.
#
# The package is fetched once with `npm pack` and only the validator is
# kept, in the cache directory.
#
# Environment:
#   XDG_CACHE_HOME   cache root (default ~/.cache)
set -euo pipefail

prog=skills-validate
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

cd "$(dirname "$0")/.."
# The first python3 with PyYAML: the one in PATH, or Debian's (python3-yaml
# goes with /usr/bin/python3 when PATH has another Python first).
python3=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then
		python3=$p
		break
	fi
done
[ -n "$python3" ] || die "no python3 with PyYAML; run: sudo apt-get install -y python3 python3-yaml"

# The version and integrity of openclaw in the lockfile.
read -r version integrity < <("$python3" -c '
import json, sys
p = json.load(open("e2e/openclaw/image/package-lock.json"))["packages"]["node_modules/openclaw"]
print(p["version"], p["integrity"])')
[ -n "$version" ] && [ -n "$integrity" ] || die "no openclaw in e2e/openclaw/image/package-lock.json"

cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/devicegate/openclaw-$version
validator=$cache_dir/quick_validate.py
if [ ! -s "$validator" ]; then
	command -v npm >/dev/null 2>&1 || die "no npm in PATH; it fetches the openclaw package"
	note "fetching openclaw@$version for its skill validator"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	tarball=$(cd "$work" && npm pack --silent "openclaw@$version" 2>/dev/null | tail -n 1)
	[ -s "$work/$tarball" ] || die "npm pack openclaw@$version gave no tarball"
	got="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
	[ "$got" = "$integrity" ] || die "openclaw@$version does not match the lockfile's integrity ($got)"
	tar -xzf "$work/$tarball" -C "$work" package/skills/skill-creator/scripts/quick_validate.py
	mkdir -p "$cache_dir"
	mv "$work/package/skills/skill-creator/scripts/quick_validate.py" "$validator"
fi

status=0
for dir in skills/*/; do
	[ -f "$dir/SKILL.md" ] || continue
	if out=$("$python3" "$validator" "$dir" 2>&1); then
		note "${dir%/}: $out"
	else
		printf '%s: error: %s: %s\n' "$prog" "${dir%/}" "$out" >&2
		status=1
	fi
done
exit "$status"
