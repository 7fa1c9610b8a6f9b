import { NAME_PATTERN, type ListVersionsRequest, type VersionRecord } from '@switchyard/core';
import { decodePageToken, PAGE_BYTES, resolvePageSize, type PageLimits } from './page-tokens.js';
import type { TargetStateStore } from './target-state-store.js';
import { compareVersionNames } from './version-names.js';

/** ListVersions: 1,000 versions a page unless asked otherwise, never more. */
export const VERSION_PAGE_LIMITS: PageLimits = { default: 1000, max: 1000 };

/** One page of a model's version records, and the name the next page starts after. */
export interface VersionPage {
  records: VersionRecord[];
  /** The last version of the page when more follow; undefined on the last page. */
  nextAfter: string | undefined;
}

/**
 * One page of a model's versions, v2 before v10 across pages: the order is
 * the version names' (compareVersionNames), not etcd's key order, so every
 * record of the model is read (in pages of keys, at one revision) and the
 * page cut from them. A page thus costs the model's versions, not the
 * registry's: tens of milliseconds at 10,000 versions of one model.
 */
export async function readVersionPage(state: TargetStateStore, model: string, request: Partial<ListVersionsRequest>): Promise<VersionPage> {
  const pageSize = resolvePageSize(request.page_size ?? 0, VERSION_PAGE_LIMITS);
  const after = decodePageToken('ListVersions', request.page_token ?? '', (name) => NAME_PATTERN.test(name));
  const records = sorted(await state.listVersions(model));
  const start = after === undefined ? 0 : firstAfter(records, after);
  return cut(records.slice(start), pageSize);
}

function sorted(stored: readonly { value: VersionRecord }[]): VersionRecord[] {
  return stored.map((s) => s.value).sort((a, b) => compareVersionNames(a.version, b.version));
}

/** The first index whose name sorts after `after` (records sorted; `after` may have been deleted since). */
function firstAfter(records: readonly VersionRecord[], after: string): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareVersionNames(records[mid]!.version, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** At most `pageSize` records and about PAGE_BYTES of them (at least one), with where to resume when cut. */
function cut(records: VersionRecord[], pageSize: number): VersionPage {
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    bytes += JSON.stringify(records[i]).length;
    if (i === pageSize || (i > 0 && bytes > PAGE_BYTES)) return { records: records.slice(0, i), nextAfter: records[i - 1]!.version };
  }
  return { records, nextAfter: undefined };
}
