import { readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { sha256Hex, type UploadArtifactResponse, type VersionMessage } from '@switchyard/core';
import { linearModel, waitFor } from '@switchyard/testkit';
import { FileArtifactStore } from '../src/artifact-store-file.js';
import { startControlPlane, unary, upload, useEtcd, type AnyClient } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const HOUR_MS = 60 * 60 * 1000;

/** Starts an upload that sends its header and one chunk, then nothing: a stalled client. */
function stalledUpload(client: AnyClient, bytes: Uint8Array): { done: Promise<grpc.ServiceError | UploadArtifactResponse>; call: grpc.ClientWritableStream<object> } {
  let call!: grpc.ClientWritableStream<object>;
  const done = new Promise<grpc.ServiceError | UploadArtifactResponse>((resolve) => {
    call = (client['UploadArtifact'] as (cb: (err: grpc.ServiceError | null, res: UploadArtifactResponse) => void) => grpc.ClientWritableStream<object>).call(
      client,
      (err, res) => resolve(err ?? res),
    );
  });
  call.on('error', () => undefined);
  call.write({ header: { sha256: sha256Hex(bytes), size: bytes.byteLength, filename: 'stalled.onnx' } });
  call.write({ chunk: bytes.subarray(0, 1024) });
  return { done, call };
}

const tempFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => name.startsWith('.upload-'));

test('a stalled upload is cancelled after the idle time-out and its temp file removed', async (t) => {
  const { admin, cp } = await startControlPlane(t, etcd().client, { uploadIdleTimeoutMs: 800 });
  const directory = (cp.artifacts as FileArtifactStore).directory;
  const bytes = new Uint8Array(64 * 1024).fill(3);
  const { done, call } = stalledUpload(admin, bytes);
  t.teardown(() => call.end());
  await waitFor(async () => (await tempFiles(directory)).length === 1, { timeoutMs: 5000, message: 'the upload temp file' });

  // Bounded: without an idle time-out this upload (and its file) would stay as long as the connection.
  const outcome = await Promise.race([done, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 15_000))]);
  t.not(outcome, 'still open', 'the stalled upload was never ended');
  const err = outcome as grpc.ServiceError;
  t.is(err.code, grpc.status.DEADLINE_EXCEEDED);
  t.regex(err.details, /received nothing for 0\.8 s and was cancelled; its partial file is removed/);
  await waitFor(async () => (await tempFiles(directory)).length === 0, { timeoutMs: 5000, message: 'the temp file to go' });
  t.false(await cp.artifacts.has(sha256Hex(bytes)));

  // The control plane still takes uploads.
  t.false((await upload(admin, linearModel({ weights: [1], bias: 0 }))).existed);
});

test('the collector removes entries no version names once past the grace, and stale upload files; it keeps referenced and recent ones', async (t) => {
  const { admin, cp } = await startControlPlane(t, etcd().client, { orphanArtifactGraceMs: HOUR_MS });
  const directory = (cp.artifacts as FileArtifactStore).directory;
  const old = new Date(Date.now() - 2 * HOUR_MS);
  const age = (sha256: string): Promise<void> => utimes(join(directory, sha256), old, old);

  // Deployed long ago: its artifact and its samples document are named by v1.
  const deployed = await upload(admin, linearModel({ weights: [1, 2, 3], bias: 0 }));
  const samples = { samples: [{ name: 'ones', inputs: { x: { datatype: 'FP32', data: [[1, 1, 1]] } } }] };
  const version = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'kept', artifact_sha256: deployed.sha256, samples_json: Buffer.from(JSON.stringify(samples)) });
  await age(deployed.sha256);
  await age(version.samples_sha256);
  // Uploaded long ago and never deployed.
  const orphan = await upload(admin, linearModel({ weights: [4], bias: 1 }));
  await age(orphan.sha256);
  // Uploaded long ago, then again just now (a deploy about to call CreateVersion): the grace starts over.
  const again = await upload(admin, linearModel({ weights: [5], bias: 1 }));
  await age(again.sha256);
  t.true((await upload(admin, linearModel({ weights: [5], bias: 1 }))).existed);
  // Uploaded just now, not deployed yet.
  const fresh = await upload(admin, linearModel({ weights: [6], bias: 1 }));
  // Left by a process that crashed mid-upload an hour and more ago, and one being written now.
  await writeFile(join(directory, '.upload-deadbeefdeadbeef'), new Uint8Array(4096));
  await utimes(join(directory, '.upload-deadbeefdeadbeef'), old, old);
  await writeFile(join(directory, '.upload-0123456789abcdef'), new Uint8Array(16));

  const report = await cp.artifactCollector.sweepOnce();
  t.log(`deleted ${report.deleted.length} entries (${report.bytes} bytes), ${report.staleUploads} stale upload files`);
  t.deepEqual(report.deleted, [orphan.sha256]);
  t.is(report.staleUploads, 1);
  t.false(await cp.artifacts.has(orphan.sha256));
  for (const sha of [deployed.sha256, version.samples_sha256, again.sha256, fresh.sha256]) t.true(await cp.artifacts.has(sha), sha);
  t.deepEqual(await tempFiles(directory), ['.upload-0123456789abcdef']);
});

test('a version record that fails its schema still keeps the artifacts it names', async (t) => {
  const { admin, cp, keys } = await startControlPlane(t, etcd().client, { orphanArtifactGraceMs: HOUR_MS });
  const directory = (cp.artifacts as FileArtifactStore).directory;
  const { sha256 } = await upload(admin, linearModel({ weights: [7], bias: 0 }));
  const old = new Date(Date.now() - 2 * HOUR_MS);
  await utimes(join(directory, sha256), old, old);
  await etcd().client.put(keys.version('broken', 'v1')).value(JSON.stringify({ artifact: { sha256 }, hand: 'edited' }));
  t.deepEqual((await cp.artifactCollector.sweepOnce()).deleted, []);
  t.true(await cp.artifacts.has(sha256));
});
