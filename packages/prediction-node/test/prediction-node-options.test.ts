import test from 'ava';
import type { Etcd3 } from 'etcd3';
import { KeyLayout, systemClock } from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { PredictionNodeOptionError, resolvePredictionNodeOptions, type PredictionNodeOptions } from '../src/prediction-node-options.js';

// Never called: the resolver only checks that one is there.
const etcd = {} as Etcd3;
const base: PredictionNodeOptions = { etcd, dataDir: '/tmp/node', logger: silentLogger() };

test('every default is filled in', (t) => {
  const o = resolvePredictionNodeOptions(base);
  t.regex(o.id, /^node-[0-9a-f]{8}$/);
  t.is(o.keys.prefix, new KeyLayout().prefix);
  t.is(o.listen, '127.0.0.1:0');
  t.is(o.advertise, undefined);
  t.is(o.metricsListen, undefined);
  t.is(o.httpListen, undefined);
  t.is(o.maxMessageBytes, 64 * 1024 * 1024);
  t.deepEqual(o.controlPlanes, []);
  t.is(o.intraOpThreads, 1);
  t.is(o.inlineRunLimitMs, 2);
  t.is(o.sessionHosting, 'auto');
  t.is(o.runTimeoutMs, 30_000);
  t.is(o.loadTimeoutMs, 60_000);
  t.is(o.runMemoryLimitBytes, 4 * 1024 ** 3);
  t.is(o.maxInFlightBytes, 256 * 1024 ** 2);
  t.is(o.maxConnections, 4096);
  t.is(o.connectionIdleMs, 300_000);
  t.is(o.keepaliveTimeMs, 60_000);
  t.is(o.keepaliveTimeoutMs, 20_000);
  t.is(o.maxConcurrentStreams, 128);
  t.is(o.leaseTtlSeconds, 10);
  t.is(o.loadRetryMinMs, 1000);
  t.false(o.processMetrics);
  t.is(o.tls, undefined);
  t.is(o.controlPlaneToken, undefined);
  t.is(o.controlPlaneTls, undefined);
  t.is(o.peerTls, undefined, 'a plaintext node forwards in plaintext');
  t.is(o.drainGraceMs, 2000);
  t.is(o.shutdownDeadlineMs, 10_000);
  t.is(o.statsIntervalMs, 5000);
  t.is(o.usageIntervalMs, 60_000);
  t.is(o.clock, systemClock);
  t.deepEqual(o.shadow, { queueSize: 64, concurrency: 1, timeoutMs: 1000, maxWaitMs: 250, busyThreshold: 0.6 });
  t.is(o.artifactCacheGraceMs, 600_000);
  t.is(o.artifactCacheTrimIntervalMs, 60_000);
});

test('values given are kept; zero is allowed where it means "none" or "at once"', (t) => {
  const o = resolvePredictionNodeOptions({
    ...base,
    id: 'node-1',
    listen: '[::1]:7001',
    advertise: 'node-1.example:7001',
    metricsListen: '0.0.0.0:0',
    controlPlanes: ['cp:7070'],
    drainGraceMs: 0,
    shutdownDeadlineMs: 0,
    usageIntervalMs: 0,
    inlineRunLimitMs: 0,
    artifactCacheGraceMs: 0,
    shadow: { queueSize: 0, busyThreshold: 1 },
    tls: { certFile: 'c.pem', keyFile: 'k.pem' },
  });
  t.is(o.id, 'node-1');
  t.is(o.listen, '[::1]:7001');
  t.is(o.advertise, 'node-1.example:7001');
  t.is(o.drainGraceMs, 0);
  t.is(o.shadow.queueSize, 0);
  t.is(o.shadow.busyThreshold, 1);
  t.deepEqual(o.tls, { certFile: 'c.pem', keyFile: 'k.pem' });
});

// [field named in the error, options that are wrong in that field, what the message says]
const refusals: Array<[string, Partial<Record<keyof PredictionNodeOptions, unknown>>, RegExp]> = [
  ['etcd', { etcd: undefined }, /^etcd is required/],
  ['dataDir', { dataDir: '' }, /^dataDir is required/],
  ['id', { id: 'Node 1' }, /^id 'Node 1' must be 1 to 64 characters/],
  ['listen', { listen: 'localhost' }, /^listen 'localhost' is not host:port/],
  ['listen', { listen: 7001 }, /^listen must be host:port/],
  ['advertise', { advertise: 'node-1' }, /^advertise 'node-1' is not host:port/],
  ['metricsListen', { metricsListen: ':9090x' }, /^metricsListen ':9090x' is not host:port/],
  ['httpListen', { httpListen: 'localhost' }, /^httpListen 'localhost' is not host:port/],
  ['maxMessageBytes', { maxMessageBytes: 0 }, /^maxMessageBytes must be a whole number 1 or more, got 0/],
  ['controlPlanes', { controlPlanes: 'cp:7070' }, /^controlPlanes must be a list/],
  ['controlPlanes[1]', { controlPlanes: ['cp:7070', 'cp'] }, /^controlPlanes\[1\] 'cp' is not host:port/],
  ['intraOpThreads', { intraOpThreads: 1.5 }, /^intraOpThreads must be a whole number from 1 to 1024, got 1.5/],
  ['inlineRunLimitMs', { inlineRunLimitMs: -1 }, /^inlineRunLimitMs must be a number of milliseconds 0 or more, got -1/],
  ['sessionHosting', { sessionHosting: 'thread' }, /^sessionHosting must be one of auto, inline, worker, got thread/],
  ['runTimeoutMs', { runTimeoutMs: 0 }, /^runTimeoutMs must be a number of milliseconds above 0, got 0/],
  ['loadTimeoutMs', { loadTimeoutMs: -1 }, /^loadTimeoutMs must be a number of milliseconds above 0, got -1/],
  ['runMemoryLimitBytes', { runMemoryLimitBytes: 1024 * 1024 * 1024 }, /^runMemoryLimitBytes must be a whole number 1610612736 or more/],
  ['maxInFlightBytes', { maxInFlightBytes: 0 }, /^maxInFlightBytes must be a whole number 1 or more, got 0/],
  ['memoryBudgetBytes', { memoryBudgetBytes: 1000 }, /^memoryBudgetBytes must be a whole number 1048576 or more, got 1000/],
  ['maxConnections', { maxConnections: 0 }, /^maxConnections must be a whole number 1 or more, got 0/],
  ['connectionIdleMs', { connectionIdleMs: 0 }, /^connectionIdleMs must be a number of milliseconds above 0/],
  ['keepaliveTimeMs', { keepaliveTimeMs: 0 }, /^keepaliveTimeMs must be a number of milliseconds above 0/],
  ['keepaliveTimeoutMs', { keepaliveTimeoutMs: Number.NaN }, /^keepaliveTimeoutMs must be a number of milliseconds above 0/],
  ['maxConcurrentStreams', { maxConcurrentStreams: 0 }, /^maxConcurrentStreams must be a whole number from 1 to 2147483647, got 0/],
  ['leaseTtlSeconds', { leaseTtlSeconds: 0 }, /^leaseTtlSeconds must be a whole number 1 or more, got 0/],
  ['loadRetryMinMs', { loadRetryMinMs: 0 }, /^loadRetryMinMs must be a number of milliseconds above 0, got 0/],
  ['processMetrics', { processMetrics: 'yes' }, /^processMetrics must be true or false, got yes/],
  ['tls', { tls: 'on' }, /^tls must be an object with certFile and keyFile/],
  ['tls.certFile', { tls: { keyFile: 'k.pem' } }, /^tls.certFile is required with tls/],
  ['tls.keyFile', { tls: { certFile: 'c.pem' } }, /^tls.keyFile is required with tls/],
  ['tls.clientCaFile', { tls: { certFile: 'c.pem', keyFile: 'k.pem', clientCaFile: '' } }, /^tls.clientCaFile must be a path to a PEM file/],
  ['controlPlaneToken', { controlPlaneToken: ' ' }, /^controlPlaneToken must be a non-empty string/],
  ['controlPlaneTls', { controlPlaneTls: true }, /^controlPlaneTls must be an object/],
  ['peerTls', { peerTls: 'ca.pem' }, /^peerTls must be an object/],
  ['drainGraceMs', { drainGraceMs: -5 }, /^drainGraceMs must be a number of milliseconds 0 or more, got -5/],
  ['shutdownDeadlineMs', { shutdownDeadlineMs: Number.NaN }, /^shutdownDeadlineMs must be a number of milliseconds 0 or more, got NaN/],
  ['statsIntervalMs', { statsIntervalMs: 0 }, /^statsIntervalMs must be a number of milliseconds above 0, got 0/],
  ['usageIntervalMs', { usageIntervalMs: -1 }, /^usageIntervalMs must be a number of milliseconds 0 or more/],
  ['shadow', { shadow: 5 }, /^shadow must be an object/],
  ['shadow.queueSize', { shadow: { queueSize: -1 } }, /^shadow.queueSize must be a whole number from 0 to 1000000, got -1/],
  ['shadow.concurrency', { shadow: { concurrency: 0 } }, /^shadow.concurrency must be a whole number from 1 to 1024, got 0/],
  ['shadow.timeoutMs', { shadow: { timeoutMs: 0 } }, /^shadow.timeoutMs must be a number of milliseconds above 0, got 0/],
  ['shadow.maxWaitMs', { shadow: { maxWaitMs: Infinity } }, /^shadow.maxWaitMs must be a number of milliseconds above 0, got Infinity/],
  ['shadow.busyThreshold', { shadow: { busyThreshold: 1.5 } }, /^shadow.busyThreshold must be a fraction above 0 and at most 1/],
  ['artifactCacheGraceMs', { artifactCacheGraceMs: -1 }, /^artifactCacheGraceMs must be a number of milliseconds 0 or more/],
  ['artifactCacheTrimIntervalMs', { artifactCacheTrimIntervalMs: 0 }, /^artifactCacheTrimIntervalMs must be a number of milliseconds above 0/],
];

for (const [field, wrong, message] of refusals) {
  test(`refuses a bad ${field}: ${JSON.stringify(wrong)}`, (t) => {
    const error = t.throws(() => resolvePredictionNodeOptions({ ...base, ...wrong } as PredictionNodeOptions), { instanceOf: PredictionNodeOptionError });
    t.true(error instanceof TypeError, 'a TypeError, as the style we copy asks');
    t.is(error.field, field);
    t.regex(error.message, message);
  });
}

test('every option field has a refusal case above, except those that accept anything of their type', (t) => {
  const accepted = new Set(['keys', 'logger', 'clock']);
  // Options resolved under another name: memoryBudgetBytes becomes memoryBudget (the bytes and where they came from).
  const resolvedAs: Record<string, string> = { memoryBudgetBytes: 'memoryBudget' };
  const covered = new Set(refusals.map(([field]) => field.split(/[.[]/)[0]!).map((f) => resolvedAs[f] ?? f));
  const fields = Object.keys(resolvePredictionNodeOptions(base));
  t.deepEqual(fields.filter((f) => !accepted.has(f) && !covered.has(f)), []);
});

test('a node serving TLS forwards over TLS (the system roots unless peerTls names a CA); peerTls alone turns it on', (t) => {
  const tls = { certFile: 'node.pem', keyFile: 'node.key' };
  t.deepEqual(resolvePredictionNodeOptions({ ...base, tls }).peerTls, {});
  t.deepEqual(resolvePredictionNodeOptions({ ...base, tls, peerTls: { caFile: 'ca.pem' } }).peerTls, { caFile: 'ca.pem' });
  t.deepEqual(resolvePredictionNodeOptions({ ...base, peerTls: { caFile: 'ca.pem' } }).peerTls, { caFile: 'ca.pem' });
});
