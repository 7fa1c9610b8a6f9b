import type { ChildProcess } from 'node:child_process';

// Pids of children that may still be running. Only pids are kept (not the
// ChildProcess objects) because the exit hook must work synchronously.
const tracked = new Set<number>();
let hookInstalled = false;

function killAllSync(): void {
  for (const pid of tracked) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: nothing to clean up.
    }
  }
  tracked.clear();
}

const FATAL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  // 'exit' also fires when a test worker dies from an uncaught error, which is
  // exactly when a forgotten etcd or server would otherwise outlive the run.
  process.on('exit', killAllSync);
  // A signal that kills us by default skips 'exit' (e.g. ava stopping a
  // worker), so catch it, clean up, and re-raise it if nobody else handles it.
  for (const signal of FATAL_SIGNALS) {
    const onSignal = (): void => {
      killAllSync();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/**
 * Registers a spawned child so it is SIGKILLed when this process exits,
 * however it exits. The child is forgotten again once it exits by itself.
 */
export function trackChild(child: ChildProcess): void {
  const { pid } = child;
  if (pid === undefined) return; // spawn failed; nothing is running
  installExitHook();
  tracked.add(pid);
  child.once('exit', () => tracked.delete(pid));
}

/** Pids of tracked children that have not exited yet (mostly for tests). */
export function trackedPids(): number[] {
  return [...tracked];
}

/**
 * SIGKILLs every tracked child that is still running, right now, without
 * waiting for them to exit.
 */
export function killTracked(): void {
  killAllSync();
}

/** Whether no process has this pid any more (ESRCH), e.g. a child the code under test had to kill. */
export function pidIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
