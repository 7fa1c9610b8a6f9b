import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { commandPath, leafAndGroupCommands, renderCliReference } from '../src/docs-render.js';
import { COMMAND_DETAILS } from '../src/docs-sections.js';
import { buildProgram } from '../src/program.js';

/** From dist/test/ up to the repository root. */
const CLI_MD = fileURLToPath(new URL('../../../../docs/cli.md', import.meta.url));

test('docs/cli.md is what the generator makes from the command definitions (run `pnpm build && pnpm docs:cli`)', async (t) => {
  const committed = await readFile(CLI_MD, 'utf8');
  const generated = renderCliReference(buildProgram());
  if (committed !== generated) {
    const a = committed.split('\n');
    const b = generated.split('\n');
    const line = a.findIndex((text, i) => text !== b[i]);
    t.fail(`docs/cli.md is stale from line ${line + 1}:\n  committed: ${a[line]}\n  generated: ${b[line]}\nRegenerate it: pnpm build && pnpm docs:cli`);
  }
  t.pass();
});

test('the hand-written details belong to commands that exist', (t) => {
  const paths = new Set(leafAndGroupCommands(buildProgram()).map((c) => commandPath(c).replace(/^switchyard /, '')));
  for (const key of Object.keys(COMMAND_DETAILS)) t.true(paths.has(key), `COMMAND_DETAILS['${key}'] names no command`);
});

test('every command and flag is in the reference', (t) => {
  const reference = renderCliReference(buildProgram());
  for (const command of leafAndGroupCommands(buildProgram())) {
    t.true(reference.includes(`\`${commandPath(command)}\``), commandPath(command));
    for (const option of command.options) t.true(reference.includes(`\`${option.flags}\``), `${commandPath(command)} ${option.flags}`);
  }
});
