import test from 'ava';
import type { RetirementEntryMessage, VersionMessage } from '@switchyard/core';
import { formatPlan, formatRetirements, parseModelRef } from '../src/commands/retire.js';
import { formatExpiresIn } from '../src/commands/versions.js';
import { summarize } from '../src/commands/history.js';

test('model and model:version references', (t) => {
  t.deepEqual(parseModelRef('fraud', false), { model: 'fraud', version: '' });
  t.deepEqual(parseModelRef('fraud:v3', true), { model: 'fraud', version: 'v3' });
  t.throws(() => parseModelRef('fraud', true), { message: /fraud:<version>/ });
  t.throws(() => parseModelRef('fraud:', false), { message: /not model or model:version/ });
});

const entry = (extra: Partial<RetirementEntryMessage>): RetirementEntryMessage => ({
  model: 'm',
  version: 'v1',
  owner: 'team-a',
  state: 'ACTIVE',
  action: 'WARN',
  reason: 'never used (created 2026-01-01T00:00:00.000Z); expires 2026-01-31T00:00:00.000Z',
  last_used_at: '',
  expires_at: '2026-01-31T00:00:00.000Z',
  retire_at: '2026-02-01T00:00:00.000Z',
  warned_at: '',
  retired_at: '',
  artifact_delete_after: '',
  artifact_deleted_at: '',
  pinned: false,
  expires_after_seconds: '2592000',
  ...extra,
});

test('the dry run and the listing name the version, the owner, the action and why', (t) => {
  t.is(formatPlan([]), 'nothing to warn, retire or collect now');
  const plan = formatPlan([entry({})]);
  for (const text of ['m:v1', 'team-a', 'WARN', 'never used']) t.true(plan.includes(text), text);
  const listed = formatRetirements([entry({ state: 'RETIRED', retired_at: '2026-02-01T00:00:00.000Z', artifact_delete_after: '2026-02-08T00:00:00.000Z' })]);
  t.true(listed.includes('kept until 2026-02-08T00:00:00.000Z'));
});

test('expires in', (t) => {
  const v = { expires_at: '2026-01-31T00:00:00.000Z', retirement_state: 'ACTIVE', pinned: false } as VersionMessage;
  const now = Date.parse('2026-01-01T00:00:00.000Z');
  t.is(formatExpiresIn(v, now), '30d 0h');
  t.is(formatExpiresIn(v, Date.parse('2026-01-30T22:30:00.000Z')), '1h 30m');
  t.is(formatExpiresIn(v, Date.parse('2026-02-01T00:00:00.000Z')), 'expired');
  t.is(formatExpiresIn({ ...v, pinned: true }, now), 'pinned');
  t.is(formatExpiresIn({ ...v, retirement_state: 'RETIRED' }, now), 'retired');
});

test('history summarizes retirement steps by state, not by validation', (t) => {
  const record = { model: 'm', version: 'v1', validation: { state: 'PASSED' } };
  const json = (r: object) => JSON.stringify(r);
  const line = (before: object, after: object) =>
    summarize({ at: '', actor: 'retirement-sweeper', action: 'X', model: 'm', version: 'v1', before_json: json(before), after_json: json(after) });
  t.is(line(record, { ...record, retirement: { state: 'WARNED', reason: '' } }), 'ACTIVE -> WARNED');
  t.is(
    line({ ...record, retirement: { state: 'WARNED' } }, { ...record, retirement: { state: 'RETIRED', reason: 'expired: never used' } }),
    'WARNED -> RETIRED: expired: never used',
  );
  t.is(line(record, { ...record, pinned: true }), 'pinned');
});
