#!/usr/bin/env node
// The `switchyard` executable; the CLI itself is compiled TypeScript in dist/.
let main;
try {
  ({ main } = await import('../dist/src/main.js'));
} catch (err) {
  // Only the CLI's own missing build gets the hint; any other missing module is a real bug.
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/main.js')) throw err;
  process.stderr.write(`error: the CLI is not built (${err.message}); run 'pnpm build' at the repository root\n`);
  process.exit(2);
}
process.exit(await main(process.argv));
