# syntax=docker/dockerfile:1
# oprelay-bridge image: TypeScript is compiled in a build stage; the runtime stage holds only
# production dependencies, the compiled dist/ and the prebuilt better-sqlite3 native module.
# test/dockerfile.test.ts replays the runtime stage's COPY/RUN steps on the host, in this order.

########## build stage ##########
FROM node:20.20.2-bookworm-slim AS build
# Compilers for better-sqlite3's native module; node-gyp uses the headers bundled in the image
# (npm_config_nodedir), so no header download is needed when no prebuilt binary is available.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# the light client is an npm workspace: npm ci needs its package.json to match the lockfile
COPY packages/client/package.json ./packages/client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages/client/tsconfig.json ./packages/client/
COPY packages/client/src ./packages/client/src
COPY src ./src
RUN npm run build

########## runtime stage ##########
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production \
    BRIDGE_HOST=0.0.0.0 \
    BRIDGE_PORT=8787 \
    BRIDGE_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
# Production dependencies without install scripts (no compilers here); the native module that
# better-sqlite3's install script would have built is copied from the build stage (same base
# image, same Node ABI).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/node_modules/better-sqlite3/build/Release/better_sqlite3.node ./node_modules/better-sqlite3/build/Release/better_sqlite3.node
COPY --from=build /app/dist ./dist
# what `oprelay-bridge/client` resolves to (the server itself does not load it)
COPY --from=build /app/packages/client/dist ./packages/client/dist
# /data must exist and belong to `node` before VOLUME, so a fresh named volume is writable.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8787
# Slim images have no curl: Node's own fetch checks /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.BRIDGE_PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "dist/cli.js", "serve"]
