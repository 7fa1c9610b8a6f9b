import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import type { VersionMessage } from '@switchyard/core';
import { linearModel } from '@switchyard/testkit';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

/** Labels with an own `__proto__` key, as a JSON document or protobuf decoding makes them. */
function labelsWithProto(): Record<string, string> {
  return JSON.parse('{"__proto__":"evil","team":"ml"}') as Record<string, string>;
}

test('a label keyed __proto__ is refused with INVALID_ARGUMENT naming the key, and nothing is created', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  t.deepEqual(Object.keys(labelsWithProto()), ['__proto__', 'team']);
  await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'protos', artifact_sha256: sha256, labels: labelsWithProto() }), status.INVALID_ARGUMENT, /label key '__proto__'/);
  await rejectsWithCode(t, unary<VersionMessage>(admin, 'GetVersion', { model: 'protos', version: 'v1' }), status.NOT_FOUND);

  // Other keys that name Object.prototype members are ordinary labels and are kept.
  const kept = await unary<VersionMessage>(admin, 'CreateVersion', {
    model: 'protos',
    artifact_sha256: sha256,
    labels: { constructor: 'a', toString: 'b', hasOwnProperty: 'c', team: 'ml' },
  });
  t.deepEqual(kept.labels, { constructor: 'a', toString: 'b', hasOwnProperty: 'c', team: 'ml' });
  const read = await unary<VersionMessage>(admin, 'GetVersion', { model: 'protos', version: kept.version });
  t.deepEqual(read.labels, kept.labels);
});
