import anyTest, { type TestFn } from 'ava';
import { KeyLayout, UsageRecordSchema, parseStored } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { createLogger } from '@switchyard/core/logging';
import { StatsPublisher } from '../src/stats-publisher.js';
import { UsageSource } from '../src/usage-source.js';
import { VersionStats } from '../src/version-stats.js';
import { useRealEtcd } from './helpers/real-etcd.js';

const test = (anyTest as TestFn).serial;
const logger = createLogger({ component: 'test', silent: true });

const etcdProcess = useRealEtcd(test);

test('usage is written at most once per interval per version, however many requests, and flushed on drain', async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 2000 });
  t.teardown(() => etcd.close());
  const keys = new KeyLayout('/usage-coalescing/');
  let now = 1_000_000;
  const stats = [new VersionStats('m', 'v1'), new VersionStats('m', 'v2'), new VersionStats('other', 'v1')];
  const usage = new UsageSource({ keys, nodeId: 'n1', stats: () => stats, intervalMs: 60_000 });
  const publisher = new StatsPublisher({ etcd, logger, intervalMs: 5000, now: () => now });
  publisher.add(usage.source);

  await publisher.tick();
  t.is(publisher.writes, 0, 'nothing used, nothing written');

  // Busy: every version used between every 5 s tick, for 10 minutes.
  for (let tick = 0; tick < 120; tick++) {
    for (const s of stats) for (let r = 0; r < 50; r++) s.record(0.001);
    stats[1]!.lastShadowUsedMs = stats[1]!.lastUsedMs;
    now += 5000;
    await publisher.tick();
  }
  // 6,000 requests per version in 600 s: the first use at once, then one write per version per 60 s
  // (ticks 12, 24, ... 108), all three in one transaction per tick that writes.
  t.is(publisher.writes, 3 * 10);
  t.is(publisher.transactions, 10);

  const raw = await etcd.get(keys.usage('m', 'v2', 'n1')).string();
  const record = parseStored(UsageRecordSchema, raw!);
  t.true(record.ok);
  if (record.ok) {
    t.is(record.value.nodeId, 'n1');
    t.not(record.value.lastPrimaryAt, null);
    t.not(record.value.lastShadowAt, null);
  }

  // Used right before drain, within the interval: only the flush writes it.
  stats[0]!.record(0.001);
  now += 1000;
  await publisher.tick();
  const before = publisher.writes;
  t.is(before, 30, 'coalesced: not yet due');
  usage.flushNext();
  await publisher.close();
  t.is(publisher.writes, 33, 'the final flush writes every pending use');
  const flushed = parseStored(UsageRecordSchema, (await etcd.get(keys.usage('m', 'v1', 'n1')).string())!);
  t.true(flushed.ok && Date.parse(flushed.value.lastPrimaryAt!) === stats[0]!.lastUsedMs);
});

test('the last use of a version being unloaded is kept and written when due', async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 2000 });
  t.teardown(() => etcd.close());
  const keys = new KeyLayout('/usage-retain/');
  let now = 0;
  let stats = [new VersionStats('m', 'v1')];
  const usage = new UsageSource({ keys, nodeId: 'n1', stats: () => stats, intervalMs: 60_000, clockOffsetMs: () => 86_400_000 });
  const publisher = new StatsPublisher({ etcd, logger, now: () => now });
  publisher.add(usage.source);
  stats[0]!.record(0.001);
  await publisher.tick();
  stats[0]!.record(0.001);
  usage.retain(stats[0]!);
  const lastUse = stats[0]!.lastUsedMs;
  stats = [];
  now += 61_000;
  await publisher.tick();
  t.is(publisher.writes, 2);
  const record = parseStored(UsageRecordSchema, (await etcd.get(keys.usage('m', 'v1', 'n1')).string())!);
  t.true(record.ok && Date.parse(record.value.lastPrimaryAt!) === lastUse + 86_400_000, 'shifted by the clock offset');
});
