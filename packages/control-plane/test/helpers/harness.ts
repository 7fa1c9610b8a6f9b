import * as grpc from '@grpc/grpc-js';
import type { ExecutionContext, TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import { KeyLayout, sha256Hex, type Logger, type UploadArtifactResponse } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { adminService, artifactService } from '@switchyard/core/grpc';
import { capturingLogger, makeTempDir, removeDir, startEtcd, type EtcdProcess } from '@switchyard/testkit';
import { ControlPlane, type ControlPlaneOptions } from '../../src/index.js';

export { capturingLogger, type CapturedLogger } from '@switchyard/testkit';

let prefixCounter = 0;

/** A key layout no other test of this process uses. */
export function freshKeys(): KeyLayout {
  prefixCounter += 1;
  return new KeyLayout(`/t-${process.pid}-${prefixCounter}/`);
}

/** A grpc-js client with the methods of a loaded service, untyped. */
export type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** Calls a unary method and resolves with its response. */
export function unary<Res>(client: AnyClient, method: string, request: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as (req: object, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;
    fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Options for {@link upload}. */
export interface UploadOptions {
  sha256?: string;
  size?: number;
  filename?: string;
  chunkBytes?: number;
  /** Send this instead of a header as the first message. */
  skipHeader?: boolean;
}

/** Uploads bytes with UploadArtifact; the header's sha256 is the real one unless given. */
export function upload(client: AnyClient, bytes: Uint8Array, options: UploadOptions = {}): Promise<UploadArtifactResponse> {
  return new Promise((resolve, reject) => {
    const call = (client['UploadArtifact'] as (cb: (err: grpc.ServiceError | null, res: UploadArtifactResponse) => void) => grpc.ClientWritableStream<object>).call(
      client,
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    // The server may refuse mid-stream; the status arrives through the callback.
    call.on('error', () => undefined);
    if (!options.skipHeader) {
      call.write({
        header: { sha256: options.sha256 ?? sha256Hex(bytes), size: options.size ?? bytes.byteLength, filename: options.filename ?? 'model.onnx' },
      });
    }
    const chunkBytes = options.chunkBytes ?? 64 * 1024;
    for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes) {
      call.write({ chunk: bytes.subarray(offset, offset + chunkBytes) });
    }
    call.end();
  });
}

/** Downloads an artifact with FetchArtifact: every chunk, and the size the first one announced. */
export function fetchArtifact(client: AnyClient, sha256: string): Promise<{ bytes: Buffer; size: number; chunks: number; sizes: string[] }> {
  return new Promise((resolve, reject) => {
    const call = (client['FetchArtifact'] as (req: object) => grpc.ClientReadableStream<{ size: string; data: Buffer }>).call(client, { sha256 });
    const parts: Buffer[] = [];
    const sizes: string[] = [];
    call.on('data', (chunk: { size: string; data: Buffer }) => {
      parts.push(chunk.data);
      sizes.push(chunk.size);
    });
    call.on('error', reject);
    call.on('end', () => resolve({ bytes: Buffer.concat(parts), size: Number(sizes[0] ?? -1), chunks: parts.length, sizes }));
  });
}

/** A running control plane for one test, torn down with the test. */
export interface TestControlPlane {
  cp: ControlPlane;
  admin: AnyClient;
  artifacts: AnyClient;
  keys: KeyLayout;
  dataDir: string;
  logs: Record<string, unknown>[];
}

/**
 * Starts a control plane on a fresh key prefix and data dir, with clients
 * for both services; all of it is closed when the test ends.
 */
export async function startControlPlane(
  t: ExecutionContext,
  etcd: Etcd3,
  options: Partial<ControlPlaneOptions> = {},
): Promise<TestControlPlane> {
  const keys = options.keys ?? freshKeys();
  const dataDir = options.dataDir ?? (await makeTempDir('switchyard-cp-test-'));
  const { logger, records } = capturingLogger();
  const cp = await ControlPlane.create({ etcd, keys, dataDir, logger, auth: { disabled: true }, ...options });
  const Admin = adminService();
  const Artifacts = artifactService();
  const admin = new Admin(cp.address, grpc.credentials.createInsecure()) as unknown as AnyClient;
  const artifacts = new Artifacts(cp.address, grpc.credentials.createInsecure()) as unknown as AnyClient;
  t.teardown(async () => {
    admin.close();
    artifacts.close();
    await cp.stop();
    if (!options.dataDir) await removeDir(dataDir);
  });
  return { cp, admin, artifacts, keys, dataDir, logs: records };
}

/** Asserts that a promise rejects with a gRPC status of this code, and returns its details. */
export async function rejectsWithCode(t: ExecutionContext, promise: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<string> {
  const err = await t.throwsAsync(promise);
  const serviceError = err as grpc.ServiceError | undefined;
  t.is(serviceError?.code, code, `expected ${grpc.status[code]}, got ${serviceError?.code === undefined ? 'no code' : grpc.status[serviceError.code]}: ${serviceError?.details}`);
  if (details) t.regex(serviceError?.details ?? '', details);
  return serviceError?.details ?? '';
}

/** The etcd of one test file: a real etcd process and a client of it. */
export interface TestEtcd {
  process: EtcdProcess;
  client: Etcd3;
}

/**
 * Starts one etcd for the test file in `test.before` and destroys it in
 * `test.after.always`; the returned function gives it to the tests.
 */
export function useEtcd(test: TestFn): () => TestEtcd {
  let current: TestEtcd | undefined;
  test.before(async () => {
    const process = await startEtcd();
    current = { process, client: createEtcdClient({ endpoints: process.endpoint }) };
  });
  test.after.always(async () => {
    current?.client.close();
    await current?.process.destroy();
  });
  return () => {
    if (!current) throw new Error('etcd is not running; useEtcd() must be called at the top level of the test file');
    return current;
  };
}
