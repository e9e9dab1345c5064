import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startTestServer } from './helpers/server.ts';

const HOST_SECRET = 'host-secret-9f2c1e';

/** Tries the usual ways out of a sandbox and reports what each one gave, as JSON. */
const PROBE = `
const attempts = {
  processEnv: () => (typeof process === 'undefined' ? 'no process' : JSON.stringify(process.env ?? null)),
  processBinding: () => typeof process !== 'undefined' && typeof process.binding === 'function' ? 'binding available' : 'no binding',
  requireType: () => typeof require,
  moduleType: () => typeof module,
  constructorEscape: () => {
    const leaked = (function () {}).constructor('return typeof process !== "undefined" && process.mainModule ? process.mainModule.filename : "none"')();
    return String(leaked);
  },
  dynamicImportFs: async () => { const fs = await import('node:fs'); return fs.readFileSync('/etc/passwd', 'utf8'); },
  fetchFile: async () => (await fetch('file:///etc/passwd')).text(),
  hostGlobals: () => Object.getOwnPropertyNames(globalThis).filter((n) => /ivm|^reference$|externalcopy|^callback$|^isolate$|^context$|host/i.test(n)).join(',') || 'none',
  errorStack: () => { try { null.x; } catch (e) { return e.stack; } },
  sharedArrayBuffer: () => typeof SharedArrayBuffer,
  wasm: () => typeof WebAssembly,
};

async function run(req) {
  const out = {};
  for (const [name, attempt] of Object.entries(attempts)) {
    try { out[name] = String(await attempt()).slice(0, 500); }
    catch (err) { out[name] = 'blocked: ' + String(err && err.message).slice(0, 200); }
  }
  const admin = new URL(req.url).searchParams.get('admin');
  if (admin) {
    try {
      const res = await fetch(admin);
      out.admin = res.status + ' ' + (await res.text()).slice(0, 500);
    } catch (err) { out.admin = 'blocked: ' + String(err && err.message).slice(0, 200); }
  }
  return out;
}

export default { async fetch(request) { return Response.json(await run(request)); } };
`;

describe('isolation over HTTP (real isolates)', () => {
  it('returns nothing from the host to a function probing for a way out', async (t) => {
    process.env.ISLET_E2E_HOST_SECRET = HOST_SECRET;
    t.after(() => { delete process.env.ISLET_E2E_HOST_SECRET; });
    const s = await startTestServer(t);
    await s.deployOk('probe', { code: PROBE, env: { OWN: 'own-value' } });
    await s.deployOk('victim', { code: `export default { fetch: () => new Response('x') }`, env: { VICTIM_SECRET: 'victim-secret-77' } });

    const res = await fetch(`${s.url}/fn/probe`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const out = JSON.parse(text) as Record<string, string>;

    const passwd = await readFile('/etc/passwd', 'utf8').catch(() => 'root:x:0:0');
    const firstPasswdLine = passwd.split('\n')[0]!;
    assert.ok(!text.includes(HOST_SECRET), 'host env leaked');
    assert.ok(!text.includes('victim-secret-77'), 'another function\'s env leaked');
    assert.ok(!text.includes(firstPasswdLine), '/etc/passwd leaked');
    assert.ok(!text.includes(process.cwd()), 'a host path leaked');
    assert.ok(!/node_modules|isolated-vm|\/src\/runtime/.test(text), `host internals leaked: ${text}`);
    assert.equal(out.hostGlobals, 'none');
    assert.equal(out.requireType, 'undefined');
    assert.equal(out.constructorEscape, 'none');
    assert.match(out.dynamicImportFs!, /^blocked/);
    assert.match(out.fetchFile!, /^blocked/);
    assert.notEqual(out.processBinding, 'binding available');
  });

  it('returns no file contents for path tricks on triggers and the admin API', async (t) => {
    const s = await startTestServer(t);
    for (const path of [
      '/fn/..%2F..%2F..%2Fetc%2Fpasswd', '/v1/functions/..%2F..%2F..%2Fetc%2Fpasswd?include=code',
      '/v1/functions/..%252F..%252Fetc%252Fpasswd', '/fn/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    ]) {
      const res = await s.fetch(path);
      assert.ok(res.status >= 400, `${path} answered ${res.status}`);
      assert.doesNotMatch(await res.text(), /root:/, path);
    }
  });

  it('does not let a function use the loopback-only admin API through fetch', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('probe', { code: PROBE });
    await s.deployOk('listed', { code: `export default { fetch: () => new Response('x') }` });
    const target = encodeURIComponent(`${s.url}/v1/functions?include=code`);
    const res = await fetch(`${s.url}/fn/probe?admin=${target}`);
    const out = await res.json() as { admin: string };
    assert.doesNotMatch(out.admin, /^200/, `a function reached the admin API: ${out.admin.slice(0, 200)}`);
    assert.doesNotMatch(out.admin, /"listed"/);
  });
});
