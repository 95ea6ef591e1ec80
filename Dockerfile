# devicegate's images, one target each, all from one build stage:
#
#   sidecar   sidecar and tgauth, static, on distroless:
#             docker build --target sidecar -t devicegate/sidecar:local \
#                 --build-arg VERSION=$(git describe --tags --always) .
#   tool      the same two programs on a base image you name, with your own
#             command-line tool in it (README: "Bring your own CLI"):
#             docker build --target tool -t devicegate/sidecar-tool:local \
#                 --build-arg TOOL_BASE=debian:bookworm-slim --build-arg TOOL_PACKAGES=gh .
#   demo-idp  the demo's identity provider (compose.demo.yaml):
#             docker build --target demo-idp -t devicegate/demo-idp:local .
#   demo-agent the demo's agent: the Docker CLI on the guard's socket
#
# Always name the target. The tool stage is the last one, so a build
# without --target gives the tool image: the legacy builder builds every
# stage before the one it is asked for, so a stage placed before sidecar
# would make every sidecar build install the tool.
#
# There is deliberately no "# syntax=" line and no RUN --mount: the file
# builds with BuildKit's built-in frontend and with the legacy builder
# (DOCKER_BUILDKIT=0), and never has to pull a frontend image.

# Base images, as arguments so that a mirror or a pinned digest can be used:
#   --build-arg GO_IMAGE=golang:1.26-bookworm@sha256:...
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
ARG TOOL_BASE=debian:bookworm-slim
# The demo's agent (target demo-agent): a Debian with the Docker CLI.
ARG AGENT_IMAGE=debian:bookworm-slim
ARG DOCKER_CLI_IMAGE=docker:28-cli

FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0

# The standard library compiled once into the build cache (GOCACHE is in
# the image layer): a source change then recompiles only our packages and
# their modules. A BuildKit cache mount would do better but breaks the
# legacy builder, and the flags must match the build below (-trimpath).
RUN go build -trimpath std

# Modules first, in their own layer: it is rebuilt only when go.mod or
# go.sum change, not on every source change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
ARG VERSION=dev
# -trimpath and -s -w: no build paths, no symbol tables (smaller, and the
# image does not depend on where it was built).
RUN ldflags="-s -w -X github.com/devicegate/devicegate/internal/version.Version=${VERSION}" \
    && go build -trimpath -ldflags="$ldflags" -o /out/usr/local/bin/ ./cmd/sidecar ./cmd/tgauth \
    && mkdir -p /out/data /out/run/guard \
    && chown 65532:65532 /out/data /out/run/guard

FROM build AS demo-idp-build
# The demo's identity provider (compose.demo.yaml), its own small image:
#   docker build --target demo-idp -t devicegate/demo-idp:local .
# Built from the build stage (the same layers, so no second download of the
# modules); the sidecar image does not contain it.
RUN go build -trimpath -ldflags="-s -w" -o /out/demo-idp ./cmd/demo-idp

FROM ${RUNTIME_IMAGE} AS demo-idp
LABEL org.opencontainers.image.title="devicegate demo identity provider" \
      org.opencontainers.image.description="A demo OpenID provider with the device flow, for trying devicegate; not for real use" \
      org.opencontainers.image.source="https://github.com/devicegate/devicegate"
COPY --from=demo-idp-build /out/demo-idp /usr/local/bin/demo-idp
USER 65532:65532
EXPOSE 9000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["demo-idp", "health"]
ENTRYPOINT ["demo-idp"]

# The demo's agent (compose.demo.yaml): what an agent such as OpenClaw has
# of devicegate, the Docker CLI with DOCKER_HOST on the guard's socket, in
# a Debian like OpenClaw's image. Its own small image:
#   docker build --target demo-agent -t devicegate/demo-agent:demo .
# COPY --from cannot take a build argument with every builder: name a stage.
FROM ${DOCKER_CLI_IMAGE} AS demo-agent-cli

FROM ${AGENT_IMAGE} AS demo-agent
LABEL org.opencontainers.image.title="devicegate demo agent" \
      org.opencontainers.image.description="The Docker CLI behind devicegate's socket guard, playing the agent in the demo" \
      org.opencontainers.image.source="https://github.com/devicegate/devicegate"
# The client only: a static binary. No plugins and no daemon.
COPY --from=demo-agent-cli /usr/local/bin/docker /usr/local/bin/docker
ENV DOCKER_HOST=unix:///run/guard/docker.sock HOME=/tmp
USER 1000:1000
CMD ["sleep", "infinity"]

# The sidecar image.
FROM ${RUNTIME_IMAGE} AS sidecar
ARG VERSION=dev
ARG REVISION=
ARG CREATED=
LABEL org.opencontainers.image.title="devicegate sidecar" \
      org.opencontainers.image.description="OAuth device-flow sign-in over Telegram, token cache and Docker socket guard" \
      org.opencontainers.image.source="https://github.com/devicegate/devicegate" \
      org.opencontainers.image.url="https://github.com/devicegate/devicegate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

COPY --from=build /out/usr/local/ /usr/local/
# /data (token cache) and /run/guard (the socket guard's listening socket)
# belong to nonroot: a new named volume mounted on an image directory takes
# that directory's owner, so the volumes start writable for nonroot.
# /run itself stays root's: COPY keeps the owners set in the build stage,
# whereas COPY --chown of /run/guard would give BuildKit's implicitly
# created /run to nonroot too.
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/run /run

# distroless' nonroot user. Numeric, so that runtimes that check
# "runAsNonRoot" can tell without reading /etc/passwd.
USER 65532:65532
ENV XDG_DATA_HOME=/data
VOLUME /data

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecar", "health"]
ENTRYPOINT ["sidecar", "serve"]

# The sidecar with your own command-line tool in it, so that
# `sidecar run -- TOOL` runs the tool next to the token and the agent never
# holds the token itself. The same sidecar and tgauth as the sidecar
# target, on a base image you name:
#
# TOOL_BASE      any image that holds your tool and a /bin/sh (default
#                debian:bookworm-slim)
# TOOL_PACKAGES  Debian or Ubuntu packages to install into it with apt-get
#                (default gh, the GitHub CLI); empty for none
#
# The result runs like the sidecar image: as uid 65532 whatever the base's
# user, with the same volume, health check and entrypoint; compose.tool.yaml
# adds its read-only root and dropped capabilities from compose.yaml.
# Keep this stage last (see the top of this file).
FROM ${TOOL_BASE} AS tool
ARG TOOL_PACKAGES=gh
ARG VERSION=dev
LABEL org.opencontainers.image.title="devicegate sidecar with tools" \
      org.opencontainers.image.description="devicegate sidecar and the owner's command-line tools (${TOOL_PACKAGES})" \
      org.opencontainers.image.source="https://github.com/devicegate/devicegate" \
      org.opencontainers.image.version="${VERSION}"

# Installing needs root, whatever user the base image runs as. ca-certificates
# comes along: a tool talking HTTPS needs it and Debian's slim images lack it.
# A passwd entry for 65532 (nonroot, as in distroless): some tools (git, ssh)
# stop when the current user has none. Its home is read-only at run time.
USER root
RUN set -eu; \
    if [ -n "$TOOL_PACKAGES" ]; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates $TOOL_PACKAGES; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    if ! grep -q '^[^:]*:[^:]*:65532:' /etc/passwd; then \
        echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin' >>/etc/passwd; \
        grep -q '^[^:]*:[^:]*:65532:' /etc/group || echo 'nonroot:x:65532:' >>/etc/group; \
        mkdir -p /home/nonroot; \
    fi

COPY --from=build /out/usr/local/ /usr/local/
# /data (the token cache) belongs to nonroot, as in the sidecar image.
COPY --from=build --chown=65532:65532 /out/data /data

USER 65532:65532
ENV XDG_DATA_HOME=/data
VOLUME /data

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecar", "health"]
ENTRYPOINT ["sidecar", "serve"]
