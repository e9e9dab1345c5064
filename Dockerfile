# islet container image: Node 24 (slim), production dependencies only, non-root, nats-server
# included so the embedded JetStream mode works without an external NATS.
#   docker build -t islet .
#   docker run -p 8080:8080 -v islet-data:/data -e ISLET_ADMIN_TOKEN=change-me islet

# nats-server is a static Go binary; take it from the official image.
FROM nats:2.10-alpine AS nats

# Builder: production dependencies from the lockfile. isolated-vm ships prebuilt binaries;
# the toolchain is only a fallback for a platform without one and stays in this stage.
FROM node:24-slim AS deps
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# @islet/sdk is a file: dependency of the server.
COPY sdk/ ./sdk/
RUN npm ci --omit=dev && npm cache clean --force

# Runtime: no build step (Node strips TypeScript types), no toolchain, no dev dependencies.
FROM node:24-slim
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    ISLET_DATA_DIR=/data
WORKDIR /app
COPY --from=nats /usr/local/bin/nats-server /usr/local/bin/nats-server
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY sdk/ ./sdk/
COPY bin/ ./bin/
COPY src/ ./src/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
# slim has no curl: Node's fetch checks /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) drains in-flight requests, then exits.
STOPSIGNAL SIGTERM
CMD ["node", "--no-node-snapshot", "src/main.ts"]
