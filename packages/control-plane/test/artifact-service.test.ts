import { randomBytes } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { sha256Hex } from '@switchyard/core';
import { ARTIFACT_CHUNK_BYTES } from '../src/index.js';
import { fetchArtifact, rejectsWithCode, startControlPlane, upload, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

test('FetchArtifact streams back the uploaded bytes in 256 KiB chunks, the first one carrying the size', async (t) => {
  const { admin, artifacts } = await startControlPlane(t, etcd().client);
  const bytes = randomBytes(3 * ARTIFACT_CHUNK_BYTES + 1234);
  const { sha256 } = await upload(admin, bytes, { chunkBytes: 1024 * 1024 });
  const fetched = await fetchArtifact(artifacts, sha256);
  t.is(fetched.size, bytes.byteLength);
  t.is(fetched.chunks, 4);
  t.deepEqual(fetched.sizes.slice(1), ['0', '0', '0']);
  t.is(sha256Hex(fetched.bytes), sha256);
  t.true(fetched.bytes.equals(bytes));
});

test('FetchArtifact of an empty artifact sends one chunk with size 0', async (t) => {
  const { admin, artifacts } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, new Uint8Array(0));
  const fetched = await fetchArtifact(artifacts, sha256);
  t.is(fetched.chunks, 1);
  t.is(fetched.size, 0);
});

test('FetchArtifact is NOT_FOUND for a missing or malformed sha256', async (t) => {
  const { artifacts } = await startControlPlane(t, etcd().client);
  await rejectsWithCode(t, fetchArtifact(artifacts, 'b'.repeat(64)), status.NOT_FOUND, /not in the store/);
  await rejectsWithCode(t, fetchArtifact(artifacts, '../../etc/passwd'), status.NOT_FOUND);
  await rejectsWithCode(t, fetchArtifact(artifacts, ''), status.NOT_FOUND);
});
