import { readFileSync } from 'node:fs';

/** The package version of this build, shown by ServerMetadata and the CLI. */
export const BUILD_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return process.env.SWITCHYARD_BUILD_VERSION ?? pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
