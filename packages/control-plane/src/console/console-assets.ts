import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** File names the asset folder may serve: one level, no path tricks. */
const ASSET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;

/**
 * Where the built console lives: the `public/` export of the installed
 * `@switchyard/console` package (its dist/public), found through Node's
 * resolution rather than the repository layout.
 * @throws Error when the package or its build is missing.
 */
export function consoleAssetsDir(): string {
  try {
    return dirname(fileURLToPath(import.meta.resolve('@switchyard/console/public/index.html')));
  } catch (err) {
    throw new Error(`the console's assets (@switchyard/console, dist/public) are not built or not installed; run pnpm build (${(err as Error).message})`);
  }
}

/** The built files, read once and kept in memory (a few hundred KiB). */
export class ConsoleAssets {
  readonly #cache = new Map<string, { body: Buffer; type: string }>();

  constructor(readonly dir: string) {}

  /** index.html and every /assets/ file; undefined when there is no such file. */
  async get(name: string): Promise<{ body: Buffer; type: string } | undefined> {
    if (!ASSET_NAME.test(name)) return undefined;
    const cached = this.#cache.get(name);
    if (cached) return cached;
    const type = CONTENT_TYPES[extname(name)];
    if (!type) return undefined;
    try {
      const asset = { body: await readFile(join(this.dir, name)), type };
      this.#cache.set(name, asset);
      return asset;
    } catch {
      return undefined;
    }
  }
}
