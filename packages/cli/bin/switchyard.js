#!/usr/bin/env node
// The `switchyard` executable; the CLI itself is compiled TypeScript in dist/.
// A node gives freed native heap back with malloc_trim after loads and
// unloads (packages/prediction-node/src/heap-trim.ts, issue #17); it no
// longer runs itself again with MALLOC_TRIM_THRESHOLD_ set, which cost a few
// percent on every request.

let main;
try {
  ({ main } = await import('../dist/src/main.js'));
} catch (err) {
  // Only the CLI's own missing build gets the hint; any other missing module is a real bug.
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/main.js')) throw err;
  process.stderr.write(`error: the CLI is not built (${err.message}); run 'pnpm build' at the repository root\n`);
  process.exit(2);
}
// main() resolves only once stdout and stderr are flushed, so exiting here
// (commands may leave handles open) cannot cut a pipe reader's output short.
process.exit(await main(process.argv));
