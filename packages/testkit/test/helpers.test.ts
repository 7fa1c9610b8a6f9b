import test from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, makeTempDir, removeDir, seededRandom, waitFor } from '../src/index.js';

test('freePort returns a port that can be bound', async (t) => {
  const port = await freePort();
  t.true(port > 0 && port < 65536);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
  t.pass();
});

test('makeTempDir creates a fresh dir and removeDir removes it, twice without error', async (t) => {
  const dir = await makeTempDir('switchyard-testkit-');
  const other = await makeTempDir('switchyard-testkit-');
  t.not(dir, other);
  await writeFile(join(dir, 'file'), 'x');
  await removeDir(dir);
  await removeDir(dir);
  await removeDir(other);
  t.false(existsSync(dir));
});

test('waitFor resolves once the predicate holds, tolerating throws meanwhile', async (t) => {
  let calls = 0;
  await waitFor(async () => {
    calls++;
    if (calls < 2) throw new Error('not yet');
    return calls >= 3;
  });
  t.is(calls, 3);
});

test('waitFor names the message on timeout', async (t) => {
  await t.throwsAsync(() => waitFor(() => false, { timeoutMs: 50, message: 'the moon' }), {
    message: /timed out after 50 ms waiting for the moon/,
  });
});

test('waitFor stops when its signal aborts', async (t) => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('gave up')), 20);
  await t.throwsAsync(() => waitFor(() => false, { signal: controller.signal }), { message: 'gave up' });
});

test('seededRandom is deterministic per seed', (t) => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const c = seededRandom(8);
  const seqA = [a(), a(), a()];
  t.deepEqual(seqA, [b(), b(), b()]);
  t.notDeepEqual(seqA, [c(), c(), c()]);
  t.true(seqA.every((v) => v >= 0 && v < 1));
});
