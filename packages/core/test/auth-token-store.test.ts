import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { GrpcStatus, SwitchyardError } from '../src/errors.js';
import { addToken, generateToken, hashToken, TokenStore } from '../src/index.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-tokens-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function document(entries: { name: string; role: string; sha256: string }[]): string {
  return JSON.stringify({ tokens: entries });
}

const ALICE = generateToken();
const BOB = generateToken();

test('generated tokens are sy_ + 32 random bytes in base64url, and hash to their sha256', (t) => {
  t.regex(ALICE, /^sy_[A-Za-z0-9_-]{43}$/);
  t.not(ALICE, BOB);
  t.is(hashToken(ALICE), createHash('sha256').update(ALICE).digest('hex'));
  t.regex(hashToken(ALICE), /^[0-9a-f]{64}$/);
});

test('a store from JSON authenticates its tokens and nothing else', (t) => {
  const store = TokenStore.fromJson(
    document([
      { name: 'alice', role: 'deployer', sha256: hashToken(ALICE) },
      { name: 'bob', role: 'viewer', sha256: hashToken(BOB) },
    ]),
  );
  t.is(store.size, 2);
  t.deepEqual(store.authenticate(ALICE), { name: 'alice', role: 'deployer', authenticated: true });
  t.deepEqual(store.authenticate(BOB), { name: 'bob', role: 'viewer', authenticated: true });
  t.is(store.authenticate(generateToken()), undefined);
  t.is(store.authenticate(''), undefined);
  t.is(store.authenticate(undefined), undefined);
  // The digest is what the file holds; presenting it must not work as a token.
  t.is(store.authenticate(hashToken(ALICE)), undefined);
  t.deepEqual(store.describe(), [
    { name: 'alice', role: 'deployer' },
    { name: 'bob', role: 'viewer' },
  ]);
});

test('a store from a file and one from SWITCHYARD_TOKENS merge', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'tokens.json');
  await writeFile(file, document([{ name: 'alice', role: 'admin', sha256: hashToken(ALICE) }]));
  const env = document([{ name: 'bob', role: 'viewer', sha256: hashToken(BOB) }]);
  const store = await TokenStore.load({ tokensFile: file, tokensJson: env });
  t.is(store.authenticate(ALICE)?.role, 'admin');
  t.is(store.authenticate(BOB)?.role, 'viewer');
  // The same entry in both places counts once.
  t.is((await TokenStore.fromFile(file)).merge(TokenStore.fromJson(document([{ name: 'alice', role: 'admin', sha256: hashToken(ALICE) }]))).size, 1);

  const clash = document([{ name: 'alice', role: 'viewer', sha256: hashToken(BOB) }]);
  const err = await t.throwsAsync(TokenStore.load({ tokensFile: file, tokensJson: clash }), { instanceOf: SwitchyardError });
  t.regex(err?.message ?? '', /'alice'.*tokens\.json.*SWITCHYARD_TOKENS/);
  await t.throwsAsync(TokenStore.load({}), { instanceOf: TypeError });
});

test('bad tokens files are refused with the file and the field named, never echoing a token', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'tokens.json');
  const cases: { content: string; message: RegExp }[] = [
    { content: `{"tokens": [${ALICE}]}`, message: /tokens\.json: not valid JSON/ },
    { content: '{"tokens": {}}', message: /tokens\.json: tokens: / },
    { content: document([{ name: 'alice', role: 'root', sha256: hashToken(ALICE) }]), message: /tokens\.json: tokens\[0\]\.role: .*viewer/ },
    {
      content: document([
        { name: 'alice', role: 'admin', sha256: hashToken(ALICE) },
        { name: 'bob', role: 'viewer', sha256: 'ABC' },
      ]),
      message: /tokens\.json: tokens\[1\]\.sha256: must be 64 lower-case hex digits/,
    },
    { content: document([{ name: 'Alice Smith', role: 'admin', sha256: hashToken(ALICE) }]), message: /tokens\[0\]\.name/ },
    {
      content: JSON.stringify({ tokens: [{ name: 'alice', role: 'admin', sha256: hashToken(ALICE), token: ALICE }] }),
      message: /tokens\[0\]: .*token/,
    },
    {
      content: document([
        { name: 'alice', role: 'admin', sha256: hashToken(ALICE) },
        { name: 'alice', role: 'viewer', sha256: hashToken(BOB) },
      ]),
      message: /tokens\[1\]\.name: 'alice' is used twice/,
    },
    {
      content: document([
        { name: 'alice', role: 'admin', sha256: hashToken(ALICE) },
        { name: 'alias', role: 'viewer', sha256: hashToken(ALICE) },
      ]),
      message: /tokens\[1\]\.sha256: the same token/,
    },
  ];
  for (const { content, message } of cases) {
    await writeFile(file, content);
    const err = await t.throwsAsync(TokenStore.fromFile(file), { instanceOf: SwitchyardError }, content);
    t.is(err?.code, GrpcStatus.INVALID_ARGUMENT, content);
    t.regex(err?.message ?? '', message);
    t.false(err?.message.includes(ALICE), 'the token must not appear in the error');
  }
  const missing = await t.throwsAsync(TokenStore.fromFile(join(dir, 'nope.json')), { instanceOf: SwitchyardError });
  t.is(missing?.code, GrpcStatus.FAILED_PRECONDITION);
  t.regex(missing?.message ?? '', /nope\.json does not exist/);

  const fromEnv = t.throws(() => TokenStore.fromJson('{"tokens":[{"name":"x"}]}'), { instanceOf: SwitchyardError });
  t.regex(fromEnv?.message ?? '', /^INVALID_ARGUMENT: SWITCHYARD_TOKENS: tokens\[0\]\.role/);
});

test('authenticate takes as long for the first entry, the last and an unknown token (no early exit)', (t) => {
  const tokens = Array.from({ length: 2000 }, () => generateToken());
  const store = TokenStore.fromJson(document(tokens.map((tok, i) => ({ name: `t${i}`, role: 'viewer', sha256: hashToken(tok) }))));
  const first = tokens[0]!;
  const last = tokens.at(-1)!;
  const unknown = generateToken();
  t.is(store.authenticate(first)?.name, 't0');
  t.is(store.authenticate(last)?.name, 't1999');

  const median = (token: string): number => {
    const times: number[] = [];
    for (let i = 0; i < 41; i++) {
      const start = performance.now();
      store.authenticate(token);
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[20]!;
  };
  for (let warm = 0; warm < 20; warm++) store.authenticate(unknown);
  const [a, b, c] = [median(first), median(last), median(unknown)];
  // An early exit would make the first entry ~2000x faster; allow generous noise.
  const ratio = Math.max(a, b, c) / Math.min(a, b, c);
  t.true(ratio < 4, `medians first=${a.toFixed(3)} last=${b.toFixed(3)} unknown=${c.toFixed(3)} ms`);
});

test('addToken creates the file 0600, stores only the digest, and refuses a duplicate name', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'tokens.json');
  const token = await addToken(file, { name: 'alice', role: 'deployer' });
  t.regex(token, /^sy_/);
  t.is((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  t.false(text.includes(token), 'the token is never written in clear');
  t.true(text.includes(hashToken(token)));
  t.deepEqual((await TokenStore.fromFile(file)).authenticate(token), { name: 'alice', role: 'deployer', authenticated: true });

  const duplicate = await t.throwsAsync(addToken(file, { name: 'alice', role: 'admin' }), { instanceOf: SwitchyardError });
  t.is(duplicate?.code, GrpcStatus.ALREADY_EXISTS);
  t.regex(duplicate?.message ?? '', /already has a token named 'alice'/);
  t.is(await readFile(file, 'utf8'), text, 'a refused add leaves the file alone');

  // A file someone loosened is tightened again on the next write.
  await chmod(file, 0o644);
  const bob = await addToken(file, { name: 'bob', role: 'viewer' });
  t.is((await stat(file)).mode & 0o777, 0o600);
  const store = await TokenStore.fromFile(file);
  t.is(store.size, 2);
  t.is(store.authenticate(bob)?.name, 'bob');
  t.is(store.authenticate(token)?.name, 'alice');

  await t.throwsAsync(addToken(file, { name: 'Bad Name', role: 'viewer' }), { message: /INVALID_ARGUMENT: token name/ });
  await t.throwsAsync(addToken(file, { name: 'carol', role: 'root' as 'viewer' }), { message: /INVALID_ARGUMENT: role 'root'/ });
});
