// Lints the container packaging without a Docker engine: the Dockerfile is parsed with
// dockerfile-ast (and dockerfile-utils' validator), docker-compose.yml with yaml. What these
// checks cannot tell (that the image builds and runs) is listed in docs/deploy.md.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';

const ROOT = join(import.meta.dirname, '..');
const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);
const instructions = dockerfile.getInstructions();

/** Instructions grouped by build stage (index 0 = the first FROM). */
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of instructions) {
    if (ins.getKeyword() === 'FROM') out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
}
const finalStage = stages().at(-1) ?? [];
const argsOf = (ins: Instruction) => ins.getArguments().map((a) => a.getValue());
/** The --from= of a COPY, null for a copy from the build context. */
const copyFrom = (ins: Instruction) => (ins instanceof Copy ? ins.getFromFlag()?.getValue() ?? null : null);
const jsonArray = (ins: Instruction): string[] => JSON.parse(ins.getArgumentsContent() ?? 'null') as string[];

describe('Dockerfile', () => {
  it('has no syntax or validation errors', () => {
    const problems = validate(dockerfileText).filter((d) => d.severity === ValidationSeverity.ERROR);
    assert.deepEqual(problems.map((p) => p.message), []);
  });

  it('is multi-stage and the final stage runs on node:24-slim', () => {
    const froms = dockerfile.getFROMs();
    assert.ok(froms.length >= 2, 'at least a builder and a final stage');
    assert.equal(froms.at(-1)!.getImage(), 'node:24-slim');
    assert.ok(froms.some((f) => f.getImage() === 'node:24-slim' && f.getBuildStage() !== null), 'a named node:24-slim builder stage');
  });

  it('installs production dependencies from the lockfile in the builder only', () => {
    const runs = instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r) && /--omit=dev/.test(r)), 'npm ci --omit=dev somewhere');
    for (const r of runs) assert.doesNotMatch(r, /\bnpm (install|i)\b/, `no lockfile-less npm install: ${r}`);
    for (const ins of finalStage.filter((i) => i.getKeyword() === 'RUN')) {
      assert.doesNotMatch(ins.getArgumentsContent() ?? '', /\bnpm\b|apt-get install/, 'the final stage installs nothing');
    }
  });

  it('runs as a non-root user in the final stage', () => {
    const users = finalStage.filter((i) => i.getKeyword() === 'USER').map((i) => argsOf(i)[0]);
    assert.ok(users.length > 0, 'a USER instruction');
    assert.ok(!['root', '0', '0:0'].includes(users.at(-1)!), `last USER is ${users.at(-1)}`);
  });

  it('starts src/main.ts with --no-node-snapshot (isolated-vm needs it)', () => {
    const cmds = dockerfile.getCMDs();
    assert.equal(cmds.length, 1);
    assert.deepEqual(jsonArray(cmds[0]!), ['node', '--no-node-snapshot', 'src/main.ts']);
  });

  it('has a HEALTHCHECK on /healthz that needs no curl', () => {
    const hc = finalStage.find((i) => i.getKeyword() === 'HEALTHCHECK');
    assert.ok(hc, 'HEALTHCHECK in the final stage');
    const content = hc.getArgumentsContent() ?? '';
    assert.match(content, /\/healthz/);
    assert.match(content, /CMD \["node"/);
    assert.doesNotMatch(content, /curl|wget/);
  });

  it('keeps data in the /data volume, exposes 8080 and ships nats-server', () => {
    assert.ok(finalStage.some((i) => i.getKeyword() === 'VOLUME' && argsOf(i).includes('/data')));
    assert.ok(finalStage.some((i) => i.getKeyword() === 'EXPOSE' && argsOf(i).includes('8080')));
    const env = finalStage.filter((i) => i.getKeyword() === 'ENV').flatMap(argsOf);
    assert.ok(env.includes('ISLET_DATA_DIR=/data'), 'ISLET_DATA_DIR=/data');
    const natsCopy = finalStage.find((i) => i.getKeyword() === 'COPY' && /nats-server/.test(i.getArgumentsContent() ?? ''));
    assert.ok(natsCopy, 'nats-server copied into the final stage');
    assert.ok(copyFrom(natsCopy), 'copied from another image/stage');
  });

  it('copies only sources that exist in the repository', () => {
    const copies = instructions.filter((i) => i.getKeyword() === 'COPY' || i.getKeyword() === 'ADD');
    let local = 0;
    for (const ins of copies) {
      if (copyFrom(ins)) continue;
      const parts = argsOf(ins);
      for (const source of parts.slice(0, -1)) {
        local++;
        assert.ok(existsSync(join(ROOT, source)), `COPY source ${source} exists`);
      }
    }
    assert.ok(local >= 4, 'package files, sdk, bin and src are copied');
    const finalSources = finalStage.filter((i) => i.getKeyword() === 'COPY').flatMap((i) => argsOf(i).slice(0, -1));
    for (const needed of ['src/', 'package.json', 'package-lock.json']) assert.ok(finalSources.includes(needed), `final stage copies ${needed}`);
  });

  it('keeps node_modules, data and git out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'data', '.git']) assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
    for (const kept of ['src', 'sdk', 'bin', 'package.json', 'package-lock.json']) assert.ok(!ignored.includes(kept), `.dockerignore keeps ${kept}`);
  });
});

describe('docker-compose.yml', () => {
  interface Service {
    image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>;
    volumes?: string[]; healthcheck?: { test?: string[] }; depends_on?: Record<string, { condition?: string }>; profiles?: string[];
  }
  const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };

  it('runs NATS with JetStream on a persistent volume', () => {
    const nats = compose.services.nats;
    assert.ok(nats, 'a nats service');
    assert.match(nats.image ?? '', /^nats:/);
    const cmd = nats.command ?? [];
    assert.ok(cmd.includes('-js'), '-js');
    assert.equal(cmd[cmd.indexOf('-sd') + 1], '/data');
    const volume = (nats.volumes ?? []).find((v) => v.endsWith(':/data'));
    assert.ok(volume && volume.split(':')[0]! in compose.volumes, 'a named volume on /data');
    assert.ok(nats.healthcheck?.test?.length, 'a healthcheck');
  });

  it('runs islet from this Dockerfile against that NATS, with a data volume and a healthcheck', () => {
    const islet = compose.services.islet;
    assert.ok(islet, 'an islet service');
    assert.ok(islet.build, 'built from the Dockerfile');
    assert.equal(islet.environment?.NATS_URL, 'nats://nats:4222');
    assert.equal(islet.environment?.ISLET_DATA_DIR, '/data');
    const volume = (islet.volumes ?? []).find((v) => v.endsWith(':/data'));
    assert.ok(volume && volume.split(':')[0]! in compose.volumes, 'a named volume on /data');
    assert.match((islet.healthcheck?.test ?? []).join(' '), /\/healthz/);
    assert.equal(islet.depends_on?.nats?.condition, 'service_healthy');
  });

  it('offers k6 under the load profile, pointed at islet with scripts that exist', () => {
    const k6 = compose.services.k6;
    assert.ok(k6, 'a k6 service');
    assert.deepEqual(k6.profiles, ['load']);
    assert.equal(k6.environment?.ISLET_URL, 'http://islet:8080');
    assert.ok((k6.volumes ?? []).some((v) => v.startsWith('./load-tests:/scripts')));
    const script = (k6.command ?? []).find((a) => a.startsWith('/scripts/'));
    assert.ok(script && existsSync(join(ROOT, 'load-tests', script.slice('/scripts/'.length))), `k6 script ${script} exists`);
  });
});
