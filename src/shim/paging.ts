/**
 * `ListOperationOptions` (mlmd-source.md §4): page size, order, and the opaque next-page token.
 *
 * The token has MLMD's shape — web-safe, unpadded Base64 of a `ListOperationNextPageToken` whose
 * `set_options` echo the request's options — so it stays opaque to clients exactly as MLMD's does.
 * Unlike MLMD, a page continues strictly after the last (order value, id) pair, so rows whose
 * timestamps are out of id order are neither skipped nor repeated; and a size above 100 is capped
 * at 100 with a token rather than answering 101 rows without one.
 */
import type { NodeKey } from './backend.ts';
import { DEFAULT_MAX_PAGE_SIZE } from './limits.ts';
import { mlmdProtoRoot } from './proto.ts';
import { invalidArgument } from './status.ts';

export const DEFAULT_PAGE_SIZE = 20;

export type OrderField = 'ID' | 'CREATE_TIME' | 'LAST_UPDATE_TIME';

/** The request message as @grpc/proto-loader hands it over (proto2 presence: absent = undefined). */
export interface ListOptionsMessage {
  max_result_size?: number;
  order_by_field?: { field?: string; is_asc?: boolean };
  next_page_token?: string;
  filter_query?: string;
}

export interface ListPlan {
  pageSize: number;
  field: OrderField;
  asc: boolean;
  /** The last row of the previous page. */
  after: { value: number; id: number } | null;
  filter: string | null;
  /** The options to echo into the next token. */
  setOptions: ListOptionsMessage;
}

interface TokenMessage {
  id_offset?: string;
  field_offset?: string;
  set_options?: ListOptionsMessage;
  listed_ids?: string[];
}

/** `maxPageSize` caps `max_result_size` (MLMD caps it at 100, the default; the shim's --max-page-size changes it). */
export function planList(options: ListOptionsMessage, maxPageSize = DEFAULT_MAX_PAGE_SIZE): ListPlan {
  let pageSize = Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (options.max_result_size !== undefined) {
    if (options.max_result_size <= 0) {
      throw invalidArgument(`max_result_size must be greater than 0; got ${options.max_result_size}`);
    }
    pageSize = Math.min(options.max_result_size, maxPageSize);
  }
  const field = (options.order_by_field?.field ?? 'ID') as string;
  if (field !== 'ID' && field !== 'CREATE_TIME' && field !== 'LAST_UPDATE_TIME') {
    throw invalidArgument(`order_by_field.field must be CREATE_TIME, LAST_UPDATE_TIME or ID; got ${field}`);
  }
  const asc = options.order_by_field?.is_asc ?? true;
  const { next_page_token: token, ...setOptions } = options;
  const after = token ? decodeToken(token, field, asc) : null;
  const filter = options.filter_query && options.filter_query.trim() !== '' ? options.filter_query : null;
  return { pageSize, field, asc, after, filter, setOptions };
}

export function orderValue(key: NodeKey, field: OrderField): number {
  return field === 'ID' ? key.id : field === 'CREATE_TIME' ? key.createMs : key.updateMs;
}

/** The keys in page order, starting after the token's position. */
export function orderedKeys<T extends NodeKey>(keys: readonly T[], plan: ListPlan): T[] {
  const dir = plan.asc ? 1 : -1;
  const cmp = (av: number, aid: number, bv: number, bid: number) => (av !== bv ? (av < bv ? -1 : 1) : aid - bid) * dir;
  const sorted = [...keys].sort((a, b) => cmp(orderValue(a, plan.field), a.id, orderValue(b, plan.field), b.id));
  const after = plan.after;
  if (!after) return sorted;
  return sorted.filter((k) => cmp(orderValue(k, plan.field), k.id, after.value, after.id) > 0);
}

/** The token that continues after `page` (the rows just answered, in order). */
export function encodeToken(plan: ListPlan, page: readonly NodeKey[]): string {
  const last = page[page.length - 1];
  if (!last) throw new Error('encodeToken needs a non-empty page');
  const value = orderValue(last, plan.field);
  const message: TokenMessage = {
    id_offset: String(last.id),
    field_offset: String(value),
    set_options: plan.setOptions,
  };
  if (plan.field === 'LAST_UPDATE_TIME') {
    // MLMD's own tokens carry these for this order; kept for parity, not read back.
    message.listed_ids = page.filter((k) => k.updateMs === value).map((k) => String(k.id));
  }
  const type = tokenType();
  return Buffer.from(type.encode(type.fromObject(message)).finish()).toString('base64url');
}

function decodeToken(token: string, field: OrderField, asc: boolean): { value: number; id: number } {
  const bad = (why: string) => invalidArgument(`Invalid next_page_token: ${why}`);
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) throw bad('not web-safe Base64');
  let message: TokenMessage;
  try {
    const type = tokenType();
    message = type.toObject(type.decode(Buffer.from(token, 'base64url')), { longs: String, enums: String }) as TokenMessage;
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (message.id_offset === undefined || message.field_offset === undefined || message.set_options === undefined) {
    throw bad('it was not issued by this server');
  }
  const tokenField = message.set_options.order_by_field?.field ?? 'ID';
  const tokenAsc = message.set_options.order_by_field?.is_asc ?? true;
  if (tokenField !== field || tokenAsc !== asc) {
    throw invalidArgument(
      `next_page_token was issued for order ${tokenField} ${tokenAsc ? 'ascending' : 'descending'}, ` +
        `but the request asks for ${field} ${asc ? 'ascending' : 'descending'}`,
    );
  }
  const id = Number(message.id_offset);
  const value = Number(message.field_offset);
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(value)) throw bad('offsets out of range');
  return { value, id };
}

function tokenType() {
  return mlmdProtoRoot().lookupType('ml_metadata.ListOperationNextPageToken');
}
