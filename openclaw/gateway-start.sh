#!/bin/sh
# gateway-start: compose.yaml's entrypoint for the OpenClaw gateway. It
# checks the variables the gateway needs (openclaw/openclaw.json reads
# them) and names every missing one at once, then starts the gateway:
#
#   gateway-start [--hold-on-error] COMMAND [ARG...]   check, then exec COMMAND
#   gateway-start --check                              check only (the health check)
#
# Why here and not in compose.yaml: `${VAR:?message}` stops Compose at the
# first missing variable, one per run, and blocks every command of the
# project, `docker compose run --rm sidecar doctor` included, which is the
# check that would name them all.
#
# --hold-on-error, as `sidecar serve --hold-on-error`: a missing variable
# is not cured by starting again, yet a restart policy would start the
# container again and again, and `docker compose up -d --wait` would count
# a container without a health check as started (it looks only at
# "running", which a restarting container is at times). Held, the problem
# is printed once, the container stays up, the health check (--check)
# fails, and `up -d --wait` fails.
#
# Only names are printed, never a value: these are secrets.
prog=gateway-start

hold=0
case ${1-} in
--check) hold=check ;;
--hold-on-error) hold=1; shift ;;
esac

# problem VAR TEXT: one line per problem; VAR is the name in .env.
n=0
problem() {
	n=$((n + 1))
	printf '%s: error: %s %s\n' "$prog" "$1" "$2" >&2
}

# In the container the agent's bot token is TELEGRAM_BOT_TOKEN (OpenClaw's
# name); in .env it is OPENCLAW_TELEGRAM_BOT_TOKEN (compose.yaml maps it).
[ -n "${TELEGRAM_BOT_TOKEN-}" ] ||
	problem OPENCLAW_TELEGRAM_BOT_TOKEN "is not set: the token @BotFather gave the agent's bot, a second bot, not devicegate's gatekeeper bot (README, Two bots)"
case ${TELEGRAM_OWNER_ID-} in
'') problem TELEGRAM_OWNER_ID "is not set: your Telegram user id, the only sender the gateway answers (README, Quick start)" ;;
*[!0-9]* | 0) problem TELEGRAM_OWNER_ID "is not a Telegram user id (a positive number; @userinfobot tells yours)" ;;
esac
[ -n "${OPENCLAW_GATEWAY_TOKEN-}" ] ||
	problem OPENCLAW_GATEWAY_TOKEN "is not set: the token that protects the gateway's port (make one with: openssl rand -hex 32)"

if [ "$n" -gt 0 ]; then
	printf '%s: hint: set them in .env, then `docker compose up -d --wait` again (`docker compose run --rm sidecar doctor` checks the whole setup)\n' "$prog" >&2
	[ "$hold" = check ] && exit 1
	if [ "$hold" = 1 ]; then
		printf '%s: not starting the gateway, and not restarting: held until stopped\n' "$prog" >&2
		exec sleep infinity
	fi
	exit 2
fi
[ "$hold" = check ] && exit 0
if [ $# -eq 0 ]; then
	printf '%s: error: no command to start\n' "$prog" >&2
	exit 2
fi
exec "$@"
