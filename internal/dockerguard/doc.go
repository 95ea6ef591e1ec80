// Package dockerguard is a filtering proxy for the Docker Engine API socket.
//
// The agent container must be able to run
//
//	docker exec myapp-sidecar-1 sidecar ...
//	docker exec myapp-sidecar-1 tgauth ...
//
// but mounting the real Docker socket into it would give it root on the host:
// anyone who can create a container can bind-mount / and run it privileged.
// A [Guard] listens on its own socket and forwards only the handful of API
// calls that "docker exec" into the sidecar needs. Everything else is denied
// with a 403 whose JSON "message" the Docker CLI prints.
//
// The policy, deny by default:
//
//   - The request target must be an origin-form path made of the characters
//     [A-Za-z0-9._-/]: no percent-encoding at all (so no %2f, %2e or %252f),
//     no empty, "." or ".." segments, no query except where noted. An optional
//     well-formed version prefix (/v1.45) is kept and passed upstream.
//   - Only HTTP/1.1; no method-override headers; no body where the endpoint
//     takes none; bodies are read through [http.MaxBytesReader].
//   - GET|HEAD /_ping, GET /version.
//   - GET /containers/json is answered with the sidecar container(s) only:
//     the guard asks upstream with its own compose label filter.
//   - GET /containers/{ref}/json and POST /containers/{ref}/exec only when ref
//     names the sidecar (full ID, unique ID prefix or name). The request is
//     forwarded with the full container ID, so a container that happens to be
//     named like a prefix of the sidecar's ID can never be reached. The Env of
//     the inspect answer is redacted: it holds the sidecar's secrets.
//   - The exec body must be one JSON object of container.ExecOptions with
//     exactly spelled, unique keys (what the CLI sends), so the daemon cannot
//     read the forwarded bytes differently. Cmd[0] must equal an allowed
//     name: "/usr/local/bin/sidecar", "./sidecar" and "../sidecar" are
//     refused, since PATH (protected) already picks the image's binary.
//     For sidecar, Cmd[1] must be an allowed subcommand (the command table,
//     commands.go): never serve, guard, health, keygen, doctor or an internal
//     "__…" one, whatever the configuration says.
//     Privileged, any User (even "root" or "0": the container's default user
//     only) and any WorkingDir are refused. Env may set other names, but not
//     a protected one, with or without "=" (a bare "PATH" unsets it), in any
//     case, and names must be [A-Za-z_][A-Za-z0-9_]*. Tty, stdin, console
//     size and detach keys are free. The exec is forwarded re-encoded, with
//     DEVICEGATE_CALLER=agent added to Env ([CallerVar]); the DEVICEGATE_
//     prefix is protected, so the agent can neither set nor remove the mark.
//   - `sidecar run [FLAGS] [--] TOOL ...` starts TOOL with the owner's token,
//     so TOOL must equal one of Config.RunTools (none by default), read from
//     the command line exactly as sidecar's flag parsing reads it
//     ([SidecarRunTool]; anything it cannot read for certain is refused), and
//     the exec may carry no Env at all: a tool's variables can send the token
//     elsewhere or start other programs (GH_HOST, GH_PAGER, GH_CONFIG_DIR).
//   - POST /exec/{id}/start, POST /exec/{id}/resize and GET /exec/{id}/json
//     only for exec IDs that this guard created. Start is proxied as a
//     hijacked stream in both directions, half-closes included.
//
// It is one package, larger than most here, because it is one security
// boundary: the routes, the exec and run policies and the stream proxy
// are read and reviewed together, and nothing else uses a part of them.
package dockerguard
