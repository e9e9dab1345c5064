import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envPairs, parseEnvFile } from './args.ts';
import { matchesSubset, settingsDiff, desiredSettings } from './apply.ts';
import { parseTime } from './commands/logs.ts';
import { functionNameFor } from './commands/deploy.ts';
import { UsageError } from './errors.ts';

describe('env parsing', () => {
  it('reads dotenv files with comments, export and quotes', () => {
    const env = parseEnvFile('# c\nexport A=1\nB="two words\\nline"\nC=\'raw $x\'\nD=plain # note\n\n');
    assert.deepEqual(env, { A: '1', B: 'two words\nline', C: 'raw $x', D: 'plain' });
  });

  it('names the file and line of a bad dotenv line', () => {
    assert.throws(() => parseEnvFile('A=1\nnot a pair\n', '.env'), (err: unknown) => err instanceof UsageError && err.message === '.env:2: expected NAME=value');
  });

  it('takes --env NAME=value pairs and keeps = in values', () => {
    assert.deepEqual(envPairs(['A=1', 'B=x=y', 'C=']), { A: '1', B: 'x=y', C: '' });
    assert.throws(() => envPairs(['1BAD=x']), UsageError);
  });
});

describe('manifest comparison', () => {
  it('matches a desired subset against server state with defaults filled in', () => {
    assert.ok(matchesSubset({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } }));
    assert.ok(matchesSubset(undefined, null));
    assert.ok(!matchesSubset({ a: 1 }, { a: 2 }));
    assert.ok(!matchesSubset([1, 2, 3], [1, 2]));
    assert.ok(!matchesSubset(undefined, { a: 1 }));
  });

  it('lists the settings that differ, treating a missing optional as null', () => {
    const desired = desiredSettings({ memoryMb: 64, env: { A: '1' } });
    assert.deepEqual(settingsDiff({ memoryMb: 64, timeoutMs: 3000, env: { A: '1' } }, desired), []);
    assert.deepEqual(settingsDiff({ memoryMb: 128, timeoutMs: 3000, env: {}, cpuMs: 5 }, desired), ['memoryMb', 'cpuMs', 'env']);
  });
});

describe('small parsers', () => {
  it('reads ages, epoch ms and ISO times for --since', () => {
    assert.equal(parseTime('since', '10m', 1_000_000), 400_000);
    assert.equal(parseTime('since', '1700000000000'), 1_700_000_000_000);
    assert.equal(parseTime('since', '2026-01-01T00:00:00Z'), Date.parse('2026-01-01T00:00:00Z'));
    assert.throws(() => parseTime('since', 'yesterday'), UsageError);
  });

  it('names a function after its entry file, or its folder for index files', () => {
    assert.equal(functionNameFor('src/hello.ts'), 'hello');
    assert.equal(functionNameFor('/x/my-api/index.ts'), 'my-api');
    assert.equal(functionNameFor('odd name.js'), 'odd-name');
  });
});
