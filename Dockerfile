# The sidecar image: sidecar and tgauth, static, on distroless.
# Dockerfile.tool builds the same with your own command-line tool in it.
#
#   docker build -t devicegate/sidecar:local --build-arg VERSION=$(git describe --tags --always) .
#
# There is deliberately no "# syntax=" line and no RUN --mount: the file
# builds with BuildKit's built-in frontend and with the legacy builder
# (DOCKER_BUILDKIT=0), and never has to pull a frontend image.

# Base images, as arguments so that a mirror or a pinned digest can be used:
#   --build-arg GO_IMAGE=golang:1.26-bookworm@sha256:...
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
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
#
# `sidecar` is the front (cmd/sidecar-front): it answers `sidecar token`
# from a valid cache in a small binary that starts fast, and hands every
# other command to the full program at ../libexec/devicegate/sidecar.
RUN ldflags="-s -w -X github.com/devicegate/devicegate/internal/version.Version=${VERSION}" \
    && go build -trimpath -ldflags="$ldflags" -o /out/usr/local/bin/ ./cmd/tgauth \
    && go build -trimpath -ldflags="$ldflags" -o /out/usr/local/bin/sidecar ./cmd/sidecar-front \
    && go build -trimpath -ldflags="$ldflags" -o /out/usr/local/libexec/devicegate/sidecar ./cmd/sidecar \
    && mkdir -p /out/data /out/run/guard \
    && chown 65532:65532 /out/data /out/run/guard

FROM build AS demo-idp-build
# The demo's identity provider (compose.demo.yaml), its own small image:
#   docker build --target demo-idp -t devicegate/demo-idp:local .
# Built from the build stage (the same layers, Dockerfile.tool's too, so no
# second download of the modules); the sidecar image does not contain it.
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

# The sidecar image (the default target: keep this stage last).
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
