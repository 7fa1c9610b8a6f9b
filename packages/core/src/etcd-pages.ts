import type { Etcd3, IKeyValue } from 'etcd3';

/** Options for {@link readPrefixPaged}. */
export interface PagedReadOptions {
  /** Keys asked for per range call. @default 1000 */
  pageSize?: number;
  /** Read as of this revision. @default the revision of the first page */
  revision?: string;
}

/** A prefix as of one revision, read page by page. */
export interface PagedRead {
  /** The revision every page was read at: watch from the one after it. */
  revision: string;
  kvs: IKeyValue[];
}

/** The smallest page a message-size refusal may shrink to before the read gives up. */
const MIN_PAGE = 16;

function isTooLarge(err: unknown): boolean {
  // grpc-js: RESOURCE_EXHAUSTED "Received message larger than max (… vs 4194304)".
  return /larger than max|RESOURCE_EXHAUSTED/i.test(String((err as Error)?.message ?? err));
}

/** A key range: every key under a prefix, or [start, end). */
export type KeyRange = { prefix: string } | { start: string | Buffer; end: string | Buffer };

/**
 * Reads every key under `prefix` in pages of at most `pageSize` keys, all at
 * the revision of the first page, so the result is one consistent snapshot
 * however large the prefix grows: one range read of a large prefix exceeds
 * gRPC's 4 MiB message limit (about 6,600 version records) and fails every
 * time. A page refused as too large is asked for again at half the size.
 * @throws what etcd3 throws, e.g. when the revision was compacted meanwhile
 *   (the caller reads again from the start).
 */
export function readPrefixPaged(etcd: Etcd3, prefix: string, options: PagedReadOptions = {}): Promise<PagedRead> {
  return readRangePaged(etcd, { prefix }, options);
}

/** {@link readPrefixPaged} for any key range, in key order or `descending`. */
export async function readRangePaged(etcd: Etcd3, range: KeyRange, options: PagedReadOptions & { descending?: boolean } = {}): Promise<PagedRead> {
  let pageSize = options.pageSize ?? 1000;
  let revision = options.revision;
  let start: Buffer = 'prefix' in range ? Buffer.from(range.prefix) : Buffer.from(range.start);
  let end: Buffer = 'prefix' in range ? prefixEnd(Buffer.from(range.prefix)) : Buffer.from(range.end);
  const kvs: IKeyValue[] = [];
  for (;;) {
    const builder = etcd.getAll().inRange({ start, end }).limit(pageSize);
    if (options.descending) builder.sort('Key', 'Descend');
    if (revision !== undefined) builder.revision(revision);
    let response;
    try {
      response = await builder.exec();
    } catch (err) {
      if (isTooLarge(err) && pageSize > MIN_PAGE) {
        pageSize = Math.max(MIN_PAGE, Math.floor(pageSize / 2));
        continue;
      }
      throw err;
    }
    revision ??= response.header.revision;
    kvs.push(...response.kvs);
    const last = response.kvs[response.kvs.length - 1];
    if (!response.more || last === undefined) return { revision, kvs };
    // The next page starts just after the last key read (or, descending, ends just before it).
    if (options.descending) end = last.key;
    else start = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

/** The range end of a prefix: the prefix with its last byte below 0xff incremented (etcd's rule). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff: to the end of the keyspace.
  return Buffer.from([0]);
}
