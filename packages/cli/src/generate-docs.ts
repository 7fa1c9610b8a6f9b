// Prints docs/cli.md: `pnpm docs:cli` (node packages/cli/dist/src/generate-docs.js > docs/cli.md).
import { renderCliReference } from './docs-render.js';
import { buildProgram } from './program.js';

process.stdout.write(renderCliReference(buildProgram()));
