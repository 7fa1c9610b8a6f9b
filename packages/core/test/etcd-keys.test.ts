import test from 'ava';
import { ID_PATTERN, KeyLayout, NAME_PATTERN } from '../src/etcd-keys.js';
import { parseStored, RouteRecordSchema } from '../src/schemas.js';

test('keys round-trip through parse', (t) => {
  const keys = new KeyLayout('/sy');
  t.is(keys.prefix, '/sy/');
  t.deepEqual(keys.parse(keys.version('m', 'v1')), { kind: 'versions', model: 'm', version: 'v1' });
  t.deepEqual(keys.parse(keys.route('m')), { kind: 'routes', model: 'm' });
  t.deepEqual(keys.parse(keys.status('n1', 'm', 'v2')), { kind: 'status', nodeId: 'n1', model: 'm', version: 'v2' });
  t.deepEqual(keys.parse(keys.node('n1')), { kind: 'nodes', nodeId: 'n1' });
  t.is(keys.parse('/sy/target/status/a/b/c'), undefined);
  t.is(keys.parse('/other/target/routes/m'), undefined);
  t.true(keys.version('m', 'v1').startsWith(keys.targetPrefix()));
  t.true(keys.status('n', 'm', 'v').startsWith(keys.runtimePrefix()));
});

test('names are key-, URL- and shell-safe', (t) => {
  for (const ok of ['demo', 'fraud-v2', 'a.b_c', 'v10', 'A', 'ResNet50_v1.5']) t.true(NAME_PATTERN.test(ok), ok);
  for (const bad of ['', 'a/b', '-a', 'a b', 'x'.repeat(65)]) t.false(NAME_PATTERN.test(bad), bad);
  // Node, control-plane and token ids stay lower case, like the hostnames they default to.
  t.true(ID_PATTERN.test('node-1'));
  t.false(ID_PATTERN.test('Node-1'));
});

test('route records: weights must add up and versions be unique', (t) => {
  const base = { model: 'm', updatedAt: '2026-01-01T00:00:00Z' };
  t.true(parseStored(RouteRecordSchema, JSON.stringify({ ...base, splits: [{ version: 'v1', weight: 10000 }] })).ok);
  const r = parseStored(RouteRecordSchema, JSON.stringify({ ...base, splits: [{ version: 'v1', weight: 12 }] }));
  t.false(r.ok);
  t.regex(r.ok ? '' : r.error, /add up to 10000/);
  t.false(parseStored(RouteRecordSchema, JSON.stringify({ ...base, splits: [{ version: 'v1', weight: 5000 }, { version: 'v1', weight: 5000 }] })).ok);
  t.false(parseStored(RouteRecordSchema, 'nope').ok);
});
