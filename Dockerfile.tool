# The sidecar with your own command-line tool in it, so that
# `sidecar run -- TOOL` runs the tool next to the token and the agent never
# holds the token itself (README: "Bring your own CLI"). The same static
# sidecar and tgauth as Dockerfile's image, built the same way, on a base
# image you name:
#
#   docker build -f Dockerfile.tool -t devicegate/sidecar-tool:local \
#       --build-arg TOOL_BASE=debian:bookworm-slim --build-arg TOOL_PACKAGES=gh .
#
# TOOL_BASE      any image that holds your tool and a /bin/sh (default
#                debian:bookworm-slim)
# TOOL_PACKAGES  Debian or Ubuntu packages to install into it with apt-get
#                (default gh, the GitHub CLI); empty for none
#
# The result runs like the plain image: as uid 65532 whatever the base's
# user, with the same volume, health check and entrypoint; compose.tool.yaml
# adds its read-only root and dropped capabilities from compose.yaml.
#
# The build stage below must stay identical to Dockerfile's (a test checks
# it): the two builds then share every cached layer.
ARG GO_IMAGE=golang:1.26-bookworm
ARG TOOL_BASE=debian:bookworm-slim

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

FROM ${TOOL_BASE}
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
# /data (the token cache) belongs to nonroot, as in Dockerfile.
COPY --from=build --chown=65532:65532 /out/data /data

USER 65532:65532
ENV XDG_DATA_HOME=/data
VOLUME /data

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecar", "health"]
ENTRYPOINT ["sidecar", "serve"]
