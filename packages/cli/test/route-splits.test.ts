import test from 'ava';
import { CliError } from '../src/exit-codes.js';
import { formatSplits, formatWeight, parseRouteSplits } from '../src/route-splits.js';

test('percentages become basis points exactly, decimals down to 0.01', (t) => {
  t.deepEqual(parseRouteSplits(['v1=90', 'v2=10']), [{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }]);
  t.deepEqual(parseRouteSplits(['a=33.33', 'b=33.33', 'c=33.34']).map((s) => s.weight), [3333, 3333, 3334]);
  t.deepEqual(parseRouteSplits(['v1=99.9', 'v2=0.1']).map((s) => s.weight), [9990, 10]);
  t.deepEqual(parseRouteSplits(['v1=100%']), [{ version: 'v1', weight: 10_000 }]);
  t.deepEqual(parseRouteSplits(['v1=100', 'v2=0']).map((s) => s.weight), [10_000, 0]);
});

test('splits that do not add up to 100, repeat a version or are malformed are usage errors', (t) => {
  t.throws(() => parseRouteSplits(['v1=90', 'v2=9.99']), { instanceOf: CliError, message: /add up to 99\.99%, not 100%/ });
  t.throws(() => parseRouteSplits(['v1=50', 'v1=50']), { message: /v1 is given twice/ });
  t.throws(() => parseRouteSplits(['v1=0.001', 'v2=99.999']), { message: /not version=percent/ });
  t.throws(() => parseRouteSplits(['v1=-10']), { message: /not version=percent/ });
  t.throws(() => parseRouteSplits(['v1']), { message: /not version=percent/ });
  t.throws(() => parseRouteSplits(['v1=101']), { message: /more than 100%/ });
});

test('weights print as percentages', (t) => {
  t.is(formatWeight(10_000), '100%');
  t.is(formatWeight(1), '0.01%');
  t.is(formatWeight(3333), '33.33%');
  t.is(formatSplits([]), 'none');
  t.is(formatSplits([{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }]), 'v1 90%, v2 10%');
});
