// The runtime-settings flags of deploy and models update (issue #17).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import { formatRuntime, runtimeFromFlags } from '../src/runtime-flags.js';

test('flags become the API form; --runtime gives the rest and flags override it', async (t) => {
  t.is(await runtimeFromFlags({}), undefined);
  t.deepEqual(await runtimeFromFlags({ maxBatchSize: '32', maxBatchDelay: '2ms', preferredBatchSizes: '16,32', queueTimeout: '100ms' }), {
    max_batch_size: 32,
    max_batch_delay_ms: 2,
    preferred_batch_sizes: [16, 32],
    queue_timeout_ms: 100,
  });
  const dir = await makeTempDir('switchyard-runtime-flags-');
  try {
    const file = join(dir, 'runtime.json');
    await writeFile(file, JSON.stringify({ maxBatchSize: 8, instances: 2, warmup: 'zeros', runTimeoutMs: 5000 }));
    t.deepEqual(await runtimeFromFlags({ runtime: file, maxBatchSize: '16' }), { max_batch_size: 16, instances: 2, warmup: 'zeros', run_timeout_ms: 5000, preferred_batch_sizes: [] });
    t.deepEqual(await runtimeFromFlags({ runtime: file, runTimeout: '2s' }), { max_batch_size: 8, instances: 2, warmup: 'zeros', run_timeout_ms: 2000, preferred_batch_sizes: [] });
  } finally {
    await removeDir(dir);
  }
});

test('bad values are usage errors naming the flag or field', async (t) => {
  t.regex((await t.throwsAsync(runtimeFromFlags({ maxBatchSize: 'many' })))!.message, /--max-batch-size must be a whole number/);
  t.regex((await t.throwsAsync(runtimeFromFlags({ maxBatchDelay: 'soon' })))!.message, /--max-batch-delay 'soon' is not a duration/);
  t.regex((await t.throwsAsync(runtimeFromFlags({ warmup: 'ones' })))!.message, /runtime\.warmup/);
  t.regex((await t.throwsAsync(runtimeFromFlags({ runTimeout: 'never' })))!.message, /--run-timeout 'never' is not a duration/);
  t.regex((await t.throwsAsync(runtimeFromFlags({ runtime: '/nonexistent/runtime.json' })))!.message, /cannot read --runtime/);
});

test('settings in force print as one line', (t) => {
  t.is(
    formatRuntime({ max_batch_size: 32, max_batch_delay_ms: 2, instances: 2, queue_size: 64, queue_timeout_ms: 50 }),
    "batch ≤ 32 (delay 2 ms), 2 instances, intra-op threads node's, queue 64, queue time-out 50 ms, warm-up on samples, node's run time-out",
  );
  t.regex(formatRuntime({ run_timeout_ms: 5000 }), /, run time-out 5000 ms$/);
  t.is(formatRuntime(null), 'defaults');
});
