import test from 'ava';
import { formatBytes, parseByteSize } from '../src/byte-size.js';
import { parseLabel } from '../src/labels.js';
import { formatSeconds, parseDuration, parseSeconds } from '../src/duration.js';
import type { Etcd3 } from 'etcd3';
import { checkNodeOptions } from '../src/node-option-flags.js';
import { shadowOptionsFromFlags } from '../src/shadow-node-flags.js';
import { wantsProgressBar, PROGRESS_MIN_BYTES } from '../src/upload-progress.js';

test('durations: ms to days, whole seconds for expirations', (t) => {
  t.is(parseDuration('500ms', '--x'), 500);
  t.is(parseDuration('90', '--x'), 90_000);
  t.is(parseDuration('2m', '--x'), 120_000);
  t.is(parseSeconds('30d', '--x'), 2_592_000);
  t.is(parseSeconds('12h', '--x'), 43_200);
  t.is(parseSeconds('0', '--x'), 0);
  t.throws(() => parseSeconds('1500ms', '--expires-after'), { message: /--expires-after '1500ms' must be whole seconds/ });
  t.throws(() => parseDuration('1w', '--x'), { message: /not a duration/ });
  t.is(formatSeconds(2_592_000), '30d');
  t.is(formatSeconds(5400), '90m');
  t.is(formatSeconds(61), '61s');
});

test('byte sizes: plain bytes or binary and decimal units', (t) => {
  t.is(parseByteSize('1024', '--x'), 1024);
  t.is(parseByteSize('256MiB', '--x'), 256 * 1024 * 1024);
  t.is(parseByteSize('1gib', '--x'), 1024 ** 3);
  t.is(parseByteSize('500MB', '--x'), 500_000_000);
  t.throws(() => parseByteSize('0', '--max-artifact-bytes'), { message: /more than 0 bytes/ });
  t.throws(() => parseByteSize('12 parsecs', '--max-artifact-bytes'), { message: /not a size/ });
  t.is(formatBytes(220), '220 B');
  t.is(formatBytes(1_258_291), '1.2 MiB');
});

test('the upload progress bar is only for people watching a large upload', (t) => {
  const big = PROGRESS_MIN_BYTES + 1;
  t.true(wantsProgressBar({ size: big, output: 'table', interactive: true }));
  t.false(wantsProgressBar({ size: PROGRESS_MIN_BYTES, output: 'table', interactive: true }));
  t.false(wantsProgressBar({ size: big, output: 'json', interactive: true }));
  t.false(wantsProgressBar({ size: big, output: 'table', interactive: false }));
});

test('node shadow flags: defaults, values, and bad input naming the flag', (t) => {
  const defaults = { shadowQueueSize: '64', shadowConcurrency: '1', shadowTimeout: '1s', shadowMaxWait: '250ms', shadowBusyThreshold: '0.6' };
  t.deepEqual(shadowOptionsFromFlags(defaults), { queueSize: 64, concurrency: 1, timeoutMs: 1000, maxWaitMs: 250, busyThreshold: 0.6 });
  t.deepEqual(shadowOptionsFromFlags({ ...defaults, shadowQueueSize: '0', shadowConcurrency: '4', shadowBusyThreshold: '1' }), {
    queueSize: 0,
    concurrency: 4,
    timeoutMs: 1000,
    maxWaitMs: 250,
    busyThreshold: 1,
  });
  // Text that is no number: refused while parsing.
  const unreadable: [Partial<typeof defaults>, RegExp][] = [
    [{ shadowQueueSize: '-1' }, /--shadow-queue-size must be a whole number/],
    [{ shadowMaxWait: 'soon' }, /--shadow-max-wait 'soon' is not a duration/],
    [{ shadowBusyThreshold: '60%' }, /--shadow-busy-threshold must be a fraction/],
  ];
  for (const [flags, message] of unreadable) {
    const err = t.throws(() => shadowOptionsFromFlags({ ...defaults, ...flags }), { message });
    t.is((err as { exitCode?: number }).exitCode, 2, String(message));
  }
});

test('labels: __proto__ is refused by name; other Object.prototype names are ordinary keys', (t) => {
  t.throws(() => parseLabel('__proto__=x', { team: 'ml' }), { message: /--label __proto__: the key '__proto__' is reserved/ });
  const labels = parseLabel('toString=b', parseLabel('constructor=a'));
  t.deepEqual(Object.entries(labels), [['constructor', 'a'], ['toString', 'b']]);
});

test("node flags out of the node's range: refused by the node's own option checks, naming the flag", async (t) => {
  const defaults = { shadowQueueSize: '64', shadowConcurrency: '1', shadowTimeout: '1s', shadowMaxWait: '250ms', shadowBusyThreshold: '0.6' };
  const base = { etcd: {} as Etcd3, dataDir: '/tmp/node' };
  await t.notThrowsAsync(checkNodeOptions({ ...base, shadow: shadowOptionsFromFlags(defaults) }));
  const outOfRange: [Partial<typeof defaults>, RegExp][] = [
    [{ shadowQueueSize: '2000000' }, /^--shadow-queue-size must be a whole number from 0 to 1000000, got 2000000$/],
    [{ shadowConcurrency: '0' }, /^--shadow-concurrency must be a whole number from 1/],
    [{ shadowTimeout: '0' }, /^--shadow-timeout must be a number of milliseconds above 0/],
    [{ shadowBusyThreshold: '0' }, /^--shadow-busy-threshold must be a fraction/],
    [{ shadowBusyThreshold: '1.5' }, /^--shadow-busy-threshold must be a fraction/],
  ];
  for (const [flags, message] of outOfRange) {
    const err = await t.throwsAsync(checkNodeOptions({ ...base, shadow: shadowOptionsFromFlags({ ...defaults, ...flags }) }), { message });
    t.is((err as { exitCode?: number }).exitCode, 2, String(message));
  }
  const id = await t.throwsAsync(checkNodeOptions({ ...base, id: 'Node 1' }), { message: /^--id 'Node 1' must be 1 to 64 characters/ });
  t.is((id as { exitCode?: number }).exitCode, 2);
});
