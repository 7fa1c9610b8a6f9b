#!/usr/bin/env node
// The `switchyard` executable; the CLI itself is compiled TypeScript in dist/.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

// glibc keeps freed heap in the process unless told to give it back above a
// threshold, so a node loading and unloading models grows (+19.7 % RSS over
// 200 load/unload cycles with the defaults, −8.3 % with the variable below;
// docs/operations.md). glibc reads MALLOC_TRIM_THRESHOLD_ once, at process
// start, so a process serving models (`node`, and `up`, whose nodes run
// in-process) runs itself again as a child with it set, unless it is set
// already (Dockerfile, k8s manifest) or SWITCHYARD_NO_MALLOC_TRIM opts out.
const serves = process.argv[2] === 'node' || process.argv[2] === 'up';
if (serves && process.platform === 'linux' && process.env.MALLOC_TRIM_THRESHOLD_ === undefined && process.env.SWITCHYARD_NO_MALLOC_TRIM === undefined) {
  await runAsChildWithMallocTrim();
}

// In that child: if this wrapper dies without forwarding a signal (SIGKILL),
// the IPC pipe closes; stop cleanly then rather than serve on as an orphan.
if (process.env.SWITCHYARD_MALLOC_TRIM_CHILD === '1' && process.channel) {
  delete process.env.SWITCHYARD_MALLOC_TRIM_CHILD;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

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

/** Runs this same command as a child with the variable set, passes signals on, and exits as it exits. Never returns. */
function runAsChildWithMallocTrim() {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, MALLOC_TRIM_THRESHOLD_: '131072', SWITCHYARD_MALLOC_TRIM_CHILD: '1' },
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    // Its own session, so a terminal's Ctrl-C reaches it once (forwarded from
    // here), not twice: a second SIGINT means "exit without draining".
    detached: true,
  });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal) => child.kill(signal);
  for (const signal of signals) process.on(signal, forward);
  child.once('error', (err) => {
    process.stderr.write(`error: could not start the serving process (${err.message}); set SWITCHYARD_NO_MALLOC_TRIM=1 to serve in this process\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    // Die of the same signal, so whoever waits for this process sees what happened.
    for (const s of signals) process.removeListener(s, forward);
    process.kill(process.pid, signal);
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 1000).unref();
  });
  return new Promise(() => {});
}
