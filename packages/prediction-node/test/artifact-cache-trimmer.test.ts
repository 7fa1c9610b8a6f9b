import { createHash } from 'node:crypto';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { Registry } from 'prom-client';
import { type Clock, type RouteRecord, type VersionRecord } from '@switchyard/core';
import { createLogger } from '@switchyard/core/logging';
import { makeTempDir, removeDir, waitFor } from '@switchyard/testkit';
import { ArtifactCache } from '../src/artifact-cache.js';
import { ArtifactCacheTrimmer, artifactCacheMetrics, wantedArtifacts } from '../src/artifact-cache-trimmer.js';
import type { TargetState } from '../src/target-state.js';

const logger = createLogger({ component: 'test', silent: true });
const MINUTE = 60_000;

function artifact(text: string): { bytes: Buffer; sha256: string } {
  const bytes = Buffer.from(text);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function metricValue(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

test('removes what no version wants once its grace has passed, never what is loaded or downloading', async (t) => {
  const dir = await makeTempDir('switchyard-trim-');
  t.teardown(() => removeDir(dir));
  const files = join(dir, 'sha256');
  await mkdir(files, { recursive: true });
  const wanted = artifact('wanted');
  const unwanted = artifact('retired version');
  const loaded = artifact('loaded, no longer in the target state');
  const comesBack = artifact('removed then put back');
  const downloading = artifact('being downloaded');
  for (const a of [wanted, unwanted, loaded, comesBack]) await writeFile(join(files, a.sha256), a.bytes);

  let now = Date.now();
  const clock: Clock = { now: () => now, sleep: async () => undefined };
  // Left over from a crash an hour and more ago, and one of a download going on now (as old, to be sure it is kept).
  const stalePartial = join(files, `${unwanted.sha256}.aaaaaaaaaaaa.partial`);
  await writeFile(stalePartial, 'half');
  await utimes(stalePartial, (now - 2 * 60 * MINUTE) / 1000, (now - 2 * 60 * MINUTE) / 1000);
  const freshPartial = join(files, `${comesBack.sha256}.bbbbbbbbbbbb.partial`);
  await writeFile(freshPartial, 'recent');

  // A real cache whose download of `downloading` waits until the test lets it finish.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let fetches = 0;
  const cache = new ArtifactCache({
    dir,
    logger,
    source: {
      async *fetch() {
        fetches++;
        yield downloading.bytes.subarray(0, 4);
        await released;
        yield downloading.bytes.subarray(4);
      },
    },
  });
  const download = cache.ensure(downloading.sha256, downloading.bytes.length);
  await waitFor(() => fetches === 1, { message: 'download started' });
  const downloadPartial = (await readdir(files)).find((n) => n.startsWith(downloading.sha256))!;
  await utimes(join(files, downloadPartial), (now - 2 * 60 * MINUTE) / 1000, (now - 2 * 60 * MINUTE) / 1000);

  let wantedSet: Set<string> | undefined;
  const registry = new Registry();
  const metrics = artifactCacheMetrics(registry);
  const trimmer = new ArtifactCacheTrimmer({
    cache,
    wanted: () => wantedSet,
    loaded: () => new Set([loaded.sha256]),
    clock,
    logger,
    graceMs: 10 * MINUTE,
    metrics,
  });
  const present = async (): Promise<string[]> => (await readdir(files)).sort();

  await trimmer.trim();
  t.is((await present()).length, 7, 'target state not read yet: nothing is touched');

  wantedSet = new Set([wanted.sha256]);
  await trimmer.trim();
  t.false((await present()).includes(`${unwanted.sha256}.aaaaaaaaaaaa.partial`), 'a stale leftover download goes at once');
  t.true((await present()).includes(downloadPartial), 'a download in progress stays, however old its file');
  t.true((await present()).includes(`${comesBack.sha256}.bbbbbbbbbbbb.partial`), 'a recent partial file stays');
  t.true((await present()).includes(unwanted.sha256), 'unwanted, but its grace has just started');

  // Put back within the grace: its clock starts again when it is dropped again.
  now += 5 * MINUTE;
  wantedSet = new Set([wanted.sha256, comesBack.sha256]);
  await trimmer.trim();
  now += 1 * MINUTE;
  wantedSet = new Set([wanted.sha256]);
  await trimmer.trim();

  now += 4 * MINUTE - 1;
  await trimmer.trim();
  t.true((await present()).includes(unwanted.sha256), 'one ms before the grace ends');

  now += 1;
  await trimmer.trim();
  const after = await present();
  t.false(after.includes(unwanted.sha256), 'unwanted for the whole grace: removed');
  t.true(after.includes(wanted.sha256));
  t.true(after.includes(loaded.sha256), 'loaded: kept even though the target state dropped it');
  t.true(after.includes(comesBack.sha256), 'its grace restarted when it came back');
  t.is(trimmer.removedFiles, 1);
  t.is(await metricValue(metrics.removedBytes), unwanted.bytes.length + 'half'.length);

  now += 6 * MINUTE;
  await trimmer.trim();
  t.false((await present()).includes(comesBack.sha256), 'dropped again for a whole grace: removed');

  release();
  t.is(await download, cache.path(downloading.sha256));
  await trimmer.trim();
  t.true((await present()).includes(downloading.sha256), 'a fresh download is within its grace');
  const expected = [wanted, loaded, downloading].reduce((sum, a) => sum + a.bytes.length, 0) + 'recent'.length;
  t.is(await metricValue(metrics.cacheBytes), expected, 'the gauge counts what is left on disk');

  // A removed file is fetched again, not handed out from the verified set.
  now += 11 * MINUTE;
  await trimmer.trim();
  t.false((await present()).includes(downloading.sha256));
  await cache.ensure(downloading.sha256, downloading.bytes.length);
  t.is(fetches, 2, 'ensure() went to the source again');
  await trimmer.stop();
});

test('wanted: every version record but a RETIRED one, unless a route or shadow still names it', (t) => {
  const sha = (c: string): string => c.repeat(64);
  const record = (version: string, c: string, retired = false) =>
    ({ model: 'm', version, artifact: { sha256: sha(c), size: 1 }, ...(retired ? { retirement: { state: 'RETIRED' } } : {}) }) as unknown as VersionRecord;
  const state: TargetState = {
    revision: 1,
    versions: new Map([
      ['m/v1', record('v1', 'a')],
      ['m/v2', record('v2', 'b', true)],
      ['m/v3', record('v3', 'c', true)],
    ]),
    routes: new Map([['m', { model: 'm', splits: [{ version: 'v1', weight: 10_000 }], shadows: [{ version: 'v3' }] } as unknown as RouteRecord]]),
  };
  t.deepEqual([...wantedArtifacts(state)].sort(), [sha('a'), sha('c')]);
});
