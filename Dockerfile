# syntax=docker/dockerfile:1
# The mlmd-bridge image: the CLI (plan, stage, cutover, verify, status, rollback as Kubernetes Jobs)
# and the MLMD shim (a Deployment). Build from the repository root:
#   docker build -t mlmd-bridge .
#   docker run --rm mlmd-bridge --version
# The entry point is the CLI; the container's arguments are its command and options.

# One Node version for both stages: the native module built in the first must match the second's.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 is a native module; where no prebuilt binary can be fetched, node-gyp compiles it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Dependencies first, so this layer is reused until the lock file changes. No scripts yet: the
# package's own `prepare` needs the sources, which come later.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# The native module, built for this image's Node and C library.
RUN npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/
COPY bin bin/
COPY proto proto/
COPY src src/
# Compile to dist/, then drop the development dependencies (TypeScript, tsx, the test tools).
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
# tini as PID 1 passes SIGTERM on to the CLI and lets a Job's migration stop when its pod is deleted
# (Node as PID 1 would ignore a signal it has no handler for).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /opt/mlmd-bridge
# What the CLI needs at run time, and nothing else: package.json ("type": "module"), the compiled
# code, the launcher, the wire contracts and the production dependencies. Owned by root, read-only
# for the user that runs it.
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules node_modules/
COPY --from=build /build/dist dist/
COPY --from=build /build/bin bin/
COPY --from=build /build/proto proto/
# The base image's `node` user, by number so that Kubernetes' runAsNonRoot can check it. Its home is
# the working directory: reports, rejects files and the demo's SQLite files are written there.
USER 1000:1000
WORKDIR /home/node
# The shim: gRPC (as metadata-grpc-service) and gRPC-Web (as metadata-envoy-service).
EXPOSE 8080 9090
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/mlmd-bridge/bin/mlmd-bridge.js"]
CMD ["--help"]
