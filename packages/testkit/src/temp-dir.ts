import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Creates a fresh, uniquely named directory under the OS temp dir.
 * @param prefix start of the directory name, e.g. `switchyard-etcd-`.
 * @returns the absolute path of the new directory.
 */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Removes a directory and everything below it; a missing directory is fine,
 * so cleanup hooks can call this more than once.
 */
export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
}
