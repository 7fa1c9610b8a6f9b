import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { sha256Hex, systemClock, type CallerIdentity, type Clock, type UploadArtifactRequest } from '@switchyard/core';
import { linearModel, makeTempDir, removeDir } from '@switchyard/testkit';
import { AdminService, FileArtifactStore, HISTORY_ENTRY_ID, TargetStateStore, historyEntryId } from '../src/index.js';
import { capturingLogger, freshKeys, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const alice: CallerIdentity = { name: 'alice', role: 'deployer', authenticated: true };

/** An AdminService without gRPC, on a clock the test moves by hand. */
async function directAdmin(t: ExecutionContext, clock: Clock): Promise<{ admin: AdminService; state: TargetStateStore }> {
  const { logger } = capturingLogger();
  const dataDir = await makeTempDir('switchyard-caller-test-');
  t.teardown(() => removeDir(dataDir));
  const state = new TargetStateStore({ etcd: etcd().client, keys: freshKeys(), logger });
  const artifacts = await FileArtifactStore.create({ dataDir, logger, clock });
  return { admin: new AdminService({ state, artifacts, logger, clock, maxArtifactBytes: 1 << 20, artifactPath: (sha) => artifacts.path(sha) }), state };
}

async function* uploadMessages(bytes: Uint8Array): AsyncGenerator<UploadArtifactRequest> {
  yield { part: 'header', header: { sha256: sha256Hex(bytes), size: bytes.byteLength, filename: 'm.onnx' } };
  yield { part: 'chunk', chunk: bytes };
}

test('changes record the caller as actor and creator, at the clock time', async (t) => {
  let nowMs = Date.parse('2030-01-02T03:04:05.678Z');
  const clock: Clock = { ...systemClock, now: () => nowMs };
  const { admin } = await directAdmin(t, clock);
  const { sha256 } = await admin.uploadArtifact(uploadMessages(linearModel({ weights: [1], bias: 0 })));
  await admin.createModel({ name: 'm', owner: 'o', description: '', default_expires_after_seconds: 0 }, alice);
  nowMs += 1;
  const version = await admin.createVersion(
    { model: 'm', artifact_sha256: sha256, version: '', labels: {}, description: '', samples_json: new Uint8Array(), expires_after_seconds: '86400' },
    alice,
  );
  t.is(version.created_by, 'alice');
  t.is(version.expires_after_seconds, '86400');
  nowMs += 1;
  await admin.setRoute({ model: 'm', splits: [{ version: 'v1', weight: 10000 }], expected_revision: 0 }, alice);

  const { entries } = await admin.listHistory({ model: 'm', page_size: 0, page_token: '' });
  t.deepEqual(
    entries.map((e) => [e.action, e.actor, e.at]),
    [
      ['SetRoute', 'alice', '2030-01-02T03:04:05.680Z'],
      ['CreateVersion', 'alice', '2030-01-02T03:04:05.679Z'],
      ['CreateModel', 'alice', '2030-01-02T03:04:05.678Z'],
    ],
  );
  t.like(JSON.parse(entries[0]!.after_json) as object, { updatedBy: 'alice' });
  t.deepEqual(await admin.whoAmI(alice), { name: 'alice', role: 'deployer', auth_enabled: true });
  t.deepEqual(await admin.whoAmI(), { name: 'anonymous', role: 'admin', auth_enabled: false });
});

test('history entry ids sort by time and differ within a millisecond', (t) => {
  const a = historyEntryId(1_700_000_000_000);
  const b = historyEntryId(1_700_000_000_000);
  const later = historyEntryId(1_700_000_000_001);
  t.regex(a, HISTORY_ENTRY_ID);
  t.is(a.slice(0, 16), '001700000000000-');
  t.not(a, b);
  t.true(later > a && later > b);
  t.is(historyEntryId(5, () => Buffer.from([0xab, 0xcd, 0xef])), '000000000000005-abcdef');
});
