import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { GrpcStatus, SwitchyardError, sha256Hex } from '@switchyard/core';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import { FileArtifactStore } from '../src/index.js';
import { capturingLogger } from './helpers/harness.js';

const test = anyTest as TestFn;

async function newStore(t: ExecutionContext): Promise<FileArtifactStore> {
  const dataDir = await makeTempDir('switchyard-store-test-');
  t.teardown(() => removeDir(dataDir));
  return FileArtifactStore.create({ dataDir, logger: capturingLogger().logger });
}

async function* chunksOf(bytes: Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

async function codeOf(promise: Promise<unknown>): Promise<GrpcStatus | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return err instanceof SwitchyardError ? err.code : undefined;
  }
}

const bytes = new TextEncoder().encode('model bytes, content-addressed');
const sha = sha256Hex(bytes);

test('put stores under <dataDir>/artifacts/sha256/<hex>; has, open and delete find it', async (t) => {
  const store = await newStore(t);
  t.false(await store.has(sha));
  t.deepEqual(await store.put(chunksOf(bytes), { maxBytes: 1024, expectedSha256: sha, expectedSize: bytes.byteLength }), {
    sha256: sha,
    size: bytes.byteLength,
    existed: false,
  });
  t.true(store.path(sha).endsWith(join('artifacts', 'sha256', sha)));
  t.deepEqual(await readFile(store.path(sha)), Buffer.from(bytes));
  t.true(await store.has(sha));
  t.true((await store.put(chunksOf(bytes), { maxBytes: 1024 })).existed);

  const { stream, size } = await store.open(sha);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  t.is(size, bytes.byteLength);
  t.deepEqual(Buffer.concat(chunks), Buffer.from(bytes));

  t.true(await store.delete(sha));
  t.false(await store.delete(sha));
  t.is(await codeOf(store.open(sha)), GrpcStatus.NOT_FOUND);
});

test('a wrong sha256, a wrong size or too many bytes store nothing and leave no temp file', async (t) => {
  const store = await newStore(t);
  const other = sha256Hex(new Uint8Array([1]));
  const shaError = await t.throwsAsync(store.put(chunksOf(bytes), { maxBytes: 1024, expectedSha256: other }));
  t.is((shaError as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(shaError!.message, new RegExp(`${sha}.*${other}`));
  t.is(await codeOf(store.put(chunksOf(bytes), { maxBytes: 1024, expectedSize: 3 })), GrpcStatus.INVALID_ARGUMENT);
  t.is(await codeOf(store.put(chunksOf(bytes), { maxBytes: 10 })), GrpcStatus.RESOURCE_EXHAUSTED);
  t.is(await codeOf(store.put(chunksOf(bytes), { maxBytes: 1024, expectedSize: 2048 })), GrpcStatus.RESOURCE_EXHAUSTED);
  t.is(await codeOf(store.put(chunksOf(bytes), { maxBytes: 1024, expectedSha256: 'xyz' })), GrpcStatus.INVALID_ARGUMENT);
  t.deepEqual(await readdir(store.directory), []);
});

test('a failing source stream leaves no temp file', async (t) => {
  const store = await newStore(t);
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield bytes;
    throw new Error('client went away');
  }
  await t.throwsAsync(store.put(failing(), { maxBytes: 1024 }), { message: 'client went away' });
  t.deepEqual(await readdir(store.directory), []);
});

test('malformed names are never paths', async (t) => {
  const store = await newStore(t);
  t.false(await store.has('../../etc/passwd'));
  t.is(await codeOf(store.open('../x')), GrpcStatus.NOT_FOUND);
  t.false(await store.delete('ABC'));
  t.throws(() => store.path('../x'), { message: /not a sha256/ });
});

test('start-up removes uploads a crashed process left behind, but not recent ones', async (t) => {
  const dataDir = await makeTempDir('switchyard-store-test-');
  t.teardown(() => removeDir(dataDir));
  const first = await FileArtifactStore.create({ dataDir, logger: capturingLogger().logger });
  const old = join(first.directory, '.upload-old');
  const recent = join(first.directory, '.upload-recent');
  await writeFile(old, 'x');
  await writeFile(recent, 'y');
  const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(old, longAgo, longAgo);
  await FileArtifactStore.create({ dataDir, logger: capturingLogger().logger });
  t.deepEqual(await readdir(first.directory), ['.upload-recent']);
});
