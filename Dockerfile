# syntax=docker/dockerfile:1
#
# One image for both programs: `loom` (the collector, the default) and `spip` (the sensor).
#
#   docker build -t loom:local .
#   docker run --rm loom:local --version                         # loom's version
#   docker run ... loom:local loom -config /etc/loom/loom.toml   # the default command
#   docker run ... loom:local spip -config /etc/spip/config.toml
#
# The entrypoint is a small dispatcher: a first argument `loom` or `spip` picks the program,
# anything else is passed to loom. See docs/DEPLOYMENT.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------
# Build: compilers for Spip's native addon (node-gyp needs python3, make and a C compiler),
# every dependency including the dev ones (TypeScript, esbuild), then the build, then the
# dev dependencies removed so that node_modules holds only what runs.
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Manifests first, so the dependency layer is reused when only sources change.
COPY package.json package-lock.json .npmrc ./
COPY packages/ecs/package.json packages/ecs/
COPY packages/toml-config/package.json packages/toml-config/
COPY packages/test-support/package.json packages/test-support/
COPY packages/spool/package.json packages/spool/
COPY packages/loom/package.json packages/loom/
COPY packages/spip/package.json packages/spip/
COPY packages/spip/native packages/spip/native
# --ignore-scripts: the root `prepare` script builds, which needs the sources copied below;
# the addon is compiled explicitly after them.
RUN npm ci --ignore-scripts

COPY tsconfig.base.json tsconfig.json ./
COPY scripts scripts
COPY packages packages
# The addon reads SO_ORIGINAL_DST so that events carry the port a scanner dialled behind an
# iptables REDIRECT. Its own script never fails (Spip then runs without it), so the image
# build checks that it exists: an image without it would silently report wrong ports.
RUN npm run build \
 && npm run install --workspace @loom/spip \
 && test -f packages/spip/native/build/Release/origdst.node \
 && npm prune --omit=dev --ignore-scripts \
 && rm -rf packages/spip/native/build/Release/obj.target packages/spip/native/build/Release/.deps \
 && find packages -name '*.tsbuildinfo' -delete

# ---------------------------------------------------------------------------------------
# Runtime: Node and the built programs only; no compilers, no sources, no dev dependencies.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# openssl: Spip's tls_self_signed generates its certificate with the openssl command at
# every start. Nothing else is added (no curl, no shell tools beyond the base image).
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged uid/gid so that volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 loom \
 && useradd --system --uid 10001 --gid loom --home-dir /var/lib/loom --shell /usr/sbin/nologin loom \
 && mkdir -p /var/lib/loom/outbox /var/lib/spip/spool /var/log/loom /etc/loom /etc/spip \
 && chown -R loom:loom /var/lib/loom /var/lib/spip /var/log/loom
WORKDIR /opt/loom

# node_modules/@loom/* are symlinks to packages/*, so the workspace layout is kept as is.
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/packages/ecs/package.json packages/ecs/package.json
COPY --from=build /src/packages/ecs/dist packages/ecs/dist
COPY --from=build /src/packages/toml-config/package.json packages/toml-config/package.json
COPY --from=build /src/packages/toml-config/dist packages/toml-config/dist
COPY --from=build /src/packages/spool/package.json packages/spool/package.json
COPY --from=build /src/packages/spool/dist packages/spool/dist
COPY --from=build /src/packages/loom/package.json packages/loom/package.json
COPY --from=build /src/packages/loom/bin packages/loom/bin
COPY --from=build /src/packages/loom/dist packages/loom/dist
COPY --from=build /src/packages/loom/node_modules packages/loom/node_modules
COPY --from=build /src/packages/spip/package.json packages/spip/package.json
COPY --from=build /src/packages/spip/bin packages/spip/bin
COPY --from=build /src/packages/spip/dist packages/spip/dist
COPY --from=build /src/packages/spip/native/build/Release/origdst.node packages/spip/native/build/Release/origdst.node
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# The outbox (acknowledged events not yet delivered) and the sensor's spool must outlive
# the container: losing them loses events that were already acknowledged.
VOLUME ["/var/lib/loom", "/var/lib/spip"]

USER loom:loom
# Ingest API (8443), management API (9080, keep it private), Spip's default port (8080)
# and Spip's metrics (9100). Spip inside a container needs no privileged port: publish
# e.g. 22 or 443 on the host to 8080 in the container.
EXPOSE 8443 9080 8080 9100

# Liveness from the management listener, with Node's fetch (the image has no curl).
# HEALTHCHECK_URL points it elsewhere, e.g. Spip's metrics listener:
#   -e HEALTHCHECK_URL=http://127.0.0.1:9100/health
ENV HEALTHCHECK_URL=http://127.0.0.1:9080/live
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# SIGTERM lets Loom finish batches in flight and flush its outputs; give it
# server.shutdown_timeout_seconds (docker stop -t / compose stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["loom", "-config", "/etc/loom/loom.toml"]
