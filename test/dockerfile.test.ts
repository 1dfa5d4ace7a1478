/**
 * The Dockerfile's runtime stage, replayed on this machine in the same order: its COPY and RUN
 * steps are performed in a temporary directory standing in for the image's filesystem, then its
 * CMD starts the bridge from there and its HEALTHCHECK command must pass.
 *
 * The build stage is stood in for by this checkout after `npm ci` and `npm run build`
 * (`COPY --from=build /app/x` reads `./x`). There is no Docker engine here, so steps that only
 * change the image's users or ownership (chown) are recorded, not performed; any RUN command the
 * replay does not know fails the test, so the test keeps up with the Dockerfile.
 *
 *   node --import tsx --test test/dockerfile.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort, stopChild } from './support/bridge-process.js';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Parses a Dockerfile into stages (line continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    if (/^\s*#/.test(line) || !line.trim()) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue; // comments inside a continuation are skipped by Docker
      line = line.replace(/\\\s*$/, ' ') + lines[i].trim();
    }
    const m = line.trim().match(/^(\w+)\s+([\s\S]*)$/);
    assert.ok(m, `Dockerfile line ${start + 1} is not an instruction`);
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    if (op === 'FROM') {
      const f = args.match(/^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i);
      assert.ok(f, `bad FROM on line ${start + 1}`);
      stages.push({ from: f[1], name: f[2], instructions: [] });
      continue;
    }
    assert.ok(stages.length, `instruction before FROM on line ${start + 1}`);
    stages[stages.length - 1].instructions.push({ op, args, line: start + 1 });
  }
  return stages;
}

/** `KEY=VALUE …` pairs of an ENV instruction (double or single quotes allowed). */
function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    out[m[1]] = m[2].replace(/^(["'])([\s\S]*)\1$/, '$2');
  }
  return out;
}

/** Flags (`--from=x`) and paths of a COPY instruction; JSON form supported. */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  let rest = args;
  let from: string | undefined;
  for (;;) {
    const flag = rest.match(/^--(\w[\w-]*)(?:=(\S+))?\s+/);
    if (!flag) break;
    if (flag[1] === 'from') from = flag[2];
    rest = rest.slice(flag[0].length);
  }
  const parts: string[] = rest.startsWith('[') ? JSON.parse(rest) : rest.split(/\s+/);
  assert.ok(parts.length >= 2, `COPY needs a source and a destination: ${args}`);
  return { from, sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages[stages.length - 1];

test('the Dockerfile is multi-stage with the expected runtime settings', () => {
  assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
  const build = stages.find((s) => s.name === 'build');
  assert.ok(build, 'a stage named build');
  assert.equal(build.from, 'node:20.20.2-bookworm-slim');
  assert.equal(runtime.from, 'node:20.20.2-bookworm-slim');
  const buildRuns = build.instructions
    .filter((i) => i.op === 'RUN')
    .map((i) => i.args)
    .join('\n');
  for (const needle of ['python3', 'make', 'g++', 'npm ci', 'npm run build'])
    assert.ok(buildRuns.includes(needle), `build stage runs ${needle}`);
  const ops = (op: string) => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);
  assert.deepEqual(ops('USER'), ['node'], 'runs as the non-root user node');
  assert.deepEqual(ops('VOLUME'), ['/data']);
  assert.deepEqual(ops('EXPOSE'), ['8787']);
  assert.equal(parseEnv(ops('ENV').join(' ')).BRIDGE_DATA_DIR, '/data');
  assert.deepEqual(JSON.parse(ops('CMD')[0]), ['node', 'dist/cli.js', 'serve']);
  assert.match(ops('HEALTHCHECK')[0], /CMD \["node", "-e", ".*fetch\('http:\/\/127\.0\.0\.1:.*\/healthz'\)/);
  assert.ok(
    ops('RUN').some((r) => /\bnpm ci\b.*--omit=dev/.test(r)),
    'installs production dependencies only',
  );
  const userAt = runtime.instructions.findIndex((i) => i.op === 'USER');
  const lastRunAt = runtime.instructions.map((i) => i.op).lastIndexOf('RUN');
  assert.ok(userAt > lastRunAt, 'USER node comes after the root-only RUN steps');
});

test('.dockerignore keeps local state and dependencies out of the build context', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const p of ['node_modules', 'dist', 'data', '.git', '.env']) assert.ok(ignored.includes(p), `.dockerignore lists ${p}`);
  // Everything the build stage COPYs from the context must not be ignored.
  const build = stages.find((s) => s.name === 'build');
  for (const i of [...(build?.instructions ?? []), ...runtime.instructions]) {
    if (i.op !== 'COPY') continue;
    const c = parseCopy(i.args);
    if (c.from) continue;
    for (const src of c.sources) {
      assert.ok(!ignored.includes(src) && !ignored.includes(src.replace(/\/$/, '')), `${src} is copied but ignored`);
      assert.ok(existsSync(join(ROOT, src)), `${src} is copied from the context and exists`);
    }
  }
});

test('the runtime stage, replayed in a temp dir, installs and starts a healthy bridge', { timeout: 300_000 }, async (t) => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is missing: run `npm run build` first');
  const build = stages.find((s) => s.name === 'build');
  assert.ok(build);
  const buildWorkdir =
    build.instructions
      .filter((i) => i.op === 'WORKDIR')
      .map((i) => i.args)
      .pop() ?? '/';

  const fsRoot = mkdtempSync(join(tmpdir(), 'oprelay-image-'));
  t.after(() => rmSync(fsRoot, { recursive: true, force: true }));
  /** A path inside the image → the same path under the temp root. */
  let workdir = '/';
  const inImage = (p: string) => join(fsRoot, posix.resolve(workdir, p));
  const env: Record<string, string> = {};
  const skipped: string[] = [];
  let cmd: string[] | undefined;
  let healthcheck: string[] | undefined;

  for (const ins of runtime.instructions) {
    switch (ins.op) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, ins.args);
        mkdirSync(inImage('.'), { recursive: true });
        break;
      case 'ENV':
        Object.assign(env, parseEnv(ins.args));
        break;
      case 'COPY': {
        const c = parseCopy(ins.args);
        const destIsDir = c.sources.length > 1 || /\/$/.test(c.dest) || c.dest === '.';
        for (const src of c.sources) {
          let from: string;
          if (c.from) {
            assert.equal(c.from, 'build', `line ${ins.line}: only the build stage can be copied from`);
            const abs = posix.resolve(buildWorkdir, src);
            assert.ok(abs.startsWith(buildWorkdir + '/'), `line ${ins.line}: ${src} is outside the build stage's WORKDIR`);
            from = join(ROOT, abs.slice(buildWorkdir.length + 1));
          } else {
            assert.ok(!isAbsolute(src), `line ${ins.line}: context paths are relative`);
            from = join(ROOT, src);
          }
          assert.ok(existsSync(from), `line ${ins.line}: ${src} does not exist (looked at ${from})`);
          const to = destIsDir ? join(inImage(c.dest), basename(from)) : inImage(c.dest);
          mkdirSync(statSync(from).isDirectory() ? to : dirname(to), { recursive: true });
          cpSync(from, to, { recursive: true, dereference: true });
        }
        break;
      }
      case 'RUN':
        for (const command of ins.args.split('&&').map((s) => s.trim())) {
          if (/^npm ci\b/.test(command)) {
            // Same command; offline-friendly flags so it uses the local npm cache when it can.
            const args = command.split(/\s+/).slice(1);
            for (const f of ['--prefer-offline', '--no-audit', '--no-fund']) if (!args.includes(f)) args.push(f);
            const r = spawnSync('npm', args, { cwd: inImage('.'), encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
            assert.equal(r.status, 0, `line ${ins.line}: npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
          } else if (/^npm cache clean\b/.test(command)) {
            skipped.push(command); // would wipe this machine's npm cache; only shrinks the image
          } else if (/^mkdir -p\s/.test(command)) {
            for (const p of command.split(/\s+/).slice(2)) mkdirSync(inImage(p), { recursive: true });
          } else if (/^chown\s/.test(command)) {
            skipped.push(command); // ownership for the image's `node` user
          } else {
            assert.fail(`line ${ins.line}: the replay does not know how to run "${command}"; teach test/dockerfile.test.ts`);
          }
        }
        break;
      case 'CMD':
        cmd = JSON.parse(ins.args);
        break;
      case 'HEALTHCHECK': {
        const m = ins.args.match(/CMD\s+(\[[\s\S]*\])\s*$/);
        assert.ok(m, 'HEALTHCHECK uses the exec form');
        healthcheck = JSON.parse(m[1]);
        break;
      }
      case 'USER':
      case 'VOLUME':
      case 'EXPOSE':
      case 'LABEL':
      case 'ARG':
        break;
      default:
        assert.fail(`line ${ins.line}: unexpected ${ins.op} in the runtime stage`);
    }
  }
  assert.ok(cmd && healthcheck, 'CMD and HEALTHCHECK are set');
  assert.ok(existsSync(inImage('node_modules/better-sqlite3/build/Release/better_sqlite3.node')), 'the native module is in place');
  assert.ok(!existsSync(inImage('node_modules/typescript')), 'dev dependencies are not installed');

  // Start the CMD as `docker run -e BRIDGE_API_KEYS=…` would (the image binds 0.0.0.0, which needs keys).
  const port = await freePort();
  const runEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...env,
    BRIDGE_PORT: String(port),
    BRIDGE_API_KEYS: 'dockerfile-test-key=*',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
  };
  if (env.BRIDGE_DATA_DIR) runEnv.BRIDGE_DATA_DIR = inImage(env.BRIDGE_DATA_DIR);
  const [exe, ...args] = cmd;
  assert.equal(exe, 'node');
  const logs: string[] = [];
  const child = spawn(process.execPath, args, { cwd: inImage('.'), env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => logs.push(String(d)));
  child.stderr?.on('data', (d) => logs.push(String(d)));
  t.after(() => stopChild(child));

  try {
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < deadline && child.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(child.exitCode, null, 'the bridge is still running');
    assert.equal(status, 200, 'GET /healthz answers 200');

    // The image's own HEALTHCHECK command, run against the same process.
    const [hcExe, ...hcArgs] = healthcheck;
    assert.equal(hcExe, 'node');
    const hc = spawnSync(process.execPath, hcArgs, { cwd: inImage('.'), env: runEnv, timeout: 10_000 });
    assert.equal(hc.status, 0, 'the HEALTHCHECK command passes');

    // SIGTERM: drain and exit 0, as `docker stop` expects.
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'exits 0 on SIGTERM');
  } catch (err) {
    (err as Error).message += `\nskipped: ${skipped.join('; ')}\n--- bridge output ---\n${logs.join('').slice(-4000)}`;
    throw err;
  }
});
