# Hangar in a container: build dist/ in one stage, install production dependencies in another, run
# as an unprivileged user with bubblewrap, socat and ripgrep for the agent toolset. bubblewrap
# needs user namespaces and a fresh /proc inside the container, which Docker's defaults forbid:
# run with
#   docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#              --security-opt systempaths=unconfined ...
# (see docs/notes/ship.md; not exercised by CI, which has no container engine).

# Node 24 on Debian bookworm (the distribution CI runs on). Pin a digest for reproducible builds.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the image's Node is the runtime, so the pinned development Node (the `node`
# package's install script) is not fetched; the build runs explicitly below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      bubblewrap socat ripgrep util-linux tini ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
# A dedicated account; the sandboxes run as this user too (mapped to uid 1000 inside them).
RUN groupadd --system --gid 10001 hangar \
 && useradd --system --uid 10001 --gid hangar --home-dir /var/lib/hangar --shell /usr/sbin/nologin hangar \
 && install -d -o hangar -g hangar -m 0700 /var/lib/hangar
WORKDIR /opt/hangar
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json README.md LICENSE ./
USER hangar
ENV NODE_ENV=production \
    HANGAR_HOST=0.0.0.0 \
    HANGAR_PORT=8700 \
    HANGAR_DATA_DIR=/var/lib/hangar
VOLUME ["/var/lib/hangar"]
EXPOSE 8700
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD curl -fsS "http://127.0.0.1:${HANGAR_PORT}/health" || exit 1
# tini as PID 1 reaps orphaned processes and passes `docker stop`'s SIGTERM to node, whose handler
# closes the server and the database cleanly.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "--disable-warning=ExperimentalWarning", "dist/cli/main.js", "serve"]
