// Bundles the console (src/main.tsx, its CSS and uPlot's) into dist/public,
// the folder the control plane serves: one script, one stylesheet, the page.
// Run by the workspace's `pnpm build` after tsc has type-checked the sources.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/public`;
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/main.tsx' },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
});
await copyFile(`${root}src/index.html`, `${out}/index.html`);
