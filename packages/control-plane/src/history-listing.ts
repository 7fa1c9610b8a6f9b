import type { ListHistoryRequest, ListHistoryResponse } from '@switchyard/core';
import { historyEntryToMessage } from './admin-messages.js';
import { HISTORY_ENTRY_ID } from './history-entries.js';
import { decodePageToken, encodePageToken, resolvePageSize, type PageLimits } from './page-tokens.js';
import type { TargetStateStore } from './target-state-store.js';
import { checkName } from './version-names.js';

/** ListHistory: 50 entries unless asked otherwise, never more than 1000. */
export const HISTORY_PAGE_LIMITS: PageLimits = { default: 50, max: 1000 };

/**
 * One page of a model's audit log, newest first. A model that never existed
 * has an empty history, not an error: the log of a deleted model stays
 * readable, and the two look alike from here.
 */
export async function listHistory(state: TargetStateStore, request: ListHistoryRequest): Promise<ListHistoryResponse> {
  const model = checkName('model', request.model);
  const pageSize = resolvePageSize(request.page_size ?? 0, HISTORY_PAGE_LIMITS);
  const before = decodePageToken('ListHistory', request.page_token ?? '', (id) => HISTORY_ENTRY_ID.test(id));
  const slice = await state.readHistory(model, { before, limit: pageSize });
  return {
    entries: slice.entries.map((e) => historyEntryToMessage(e.record)),
    next_page_token: slice.more && slice.lastId !== undefined ? encodePageToken(slice.lastId) : '',
  };
}
