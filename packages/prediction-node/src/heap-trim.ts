/**
 * Gives freed native heap back to the system once model versions are
 * unloaded (issue #17). glibc keeps freed heap in the process; the
 * environment variable MALLOC_TRIM_THRESHOLD_ made it give memory back on
 * every free above a threshold, which cost a few percent on every request
 * (measured: node/bare 0.92–0.96 with it, 0.96–0.98 without, at
 * concurrency 1). Trimming when a session set has been released keeps the
 * memory target and costs nothing per request: malloc_trim(0) is called
 * through koffi (a foreign-function library shipping prebuilt binaries) a
 * moment after the last unload of a burst. A no-op off glibc Linux, when the
 * library cannot be loaded, or with SWITCHYARD_NO_HEAP_TRIM=1.
 */
import { createRequire } from 'node:module';

/** Unloads within this many ms of each other are followed by one trim. */
const SETTLE_MS = 200;

type Trim = () => number;

let trim: Trim | null | undefined;
let timer: NodeJS.Timeout | undefined;
let trims = 0;
const listeners = new Set<() => void>();

/**
 * Calls `listener` after each trim that follows a burst of loads or
 * unloads: a quiet moment to measure the resident set (memory-ledger.ts).
 * Returns the function that stops the calls.
 */
export function onHeapSettled(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** malloc_trim from glibc, or null where there is none. */
function loadTrim(): Trim | null {
  if (process.platform !== 'linux' || process.env.SWITCHYARD_NO_HEAP_TRIM === '1') return null;
  // glibc only: musl has neither libc.so.6 nor malloc_trim (and gives memory back by itself), so loading fails there.
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(path: string): { func(signature: string): (pad: number) => number };
    };
    const mallocTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
    return () => mallocTrim(0);
  } catch {
    return null;
  }
}

/** Trims the heap now; returns whether it could. */
export function trimHeap(): boolean {
  if (trim === undefined) trim = loadTrim();
  if (!trim) return false;
  trim();
  trims++;
  return true;
}

/** Trims the heap once the current burst of unloads is over. */
export function trimHeapSoon(): void {
  clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    trimHeap();
    for (const listener of listeners) listener();
  }, SETTLE_MS);
  timer.unref();
}

/** Trims done in this process (tests, metrics). */
export function heapTrims(): number {
  return trims;
}
