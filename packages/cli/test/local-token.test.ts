import { readFileSync, statSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import test from 'ava';
import { addToken, hashToken } from '@switchyard/core';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import { ensureLocalAdminToken, readLocalToken } from '../src/local-token.js';

test('the local admin token is created once, kept while it matches, and replaced alone when it does not', async (t) => {
  const dir = await makeTempDir('switchyard-local-token-');
  t.teardown(() => removeDir(dir));
  const first = await ensureLocalAdminToken(dir);
  t.true(first.created);
  t.is(readLocalToken(dir), first.token);
  t.is(statSync(first.tokensFile).mode & 0o777, 0o600);
  t.is(statSync(first.tokenFile).mode & 0o777, 0o600);
  const again = await ensureLocalAdminToken(dir);
  t.false(again.created);
  t.is(again.token, first.token);

  // Tokens added by hand survive a replacement of the local one.
  await addToken(first.tokensFile, { name: 'alice', role: 'viewer' });
  await chmod(first.tokenFile, 0o644);
  await writeFile(first.tokenFile, 'sy_lost\n');
  const replaced = await ensureLocalAdminToken(dir);
  t.true(replaced.created);
  t.not(replaced.token, first.token);
  t.is(statSync(replaced.tokenFile).mode & 0o777, 0o600);
  const stored = JSON.parse(readFileSync(replaced.tokensFile, 'utf8')) as { tokens: { name: string; sha256: string }[] };
  t.deepEqual(stored.tokens.map((e) => e.name), ['alice', 'local-admin']);
  t.is(stored.tokens[1]!.sha256, hashToken(replaced.token));
});
