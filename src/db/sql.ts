/** Small helpers for batched, IN-list shaped reads and for the values drivers hand back; every layer that reads uses them. */

/** IN lists are cut at this many ids: far below every server's placeholder limit, and plans stay sane. */
export const IN_LIST_CHUNK = 1000;

export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

export function chunked<T>(items: readonly T[], size = IN_LIST_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Drivers may hand back numbers, bigints or (for aggregates on MySQL) decimal strings. */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

export function numOrNull(v: unknown): number | null {
  return v == null ? null : num(v);
}

export function textOrNull(v: unknown): string | null {
  if (v == null) return null;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** Groups rows by a key, keeping their order inside each group. */
export function groupBy<R, K>(rows: Iterable<R>, key: (r: R) => K): Map<K, R[]> {
  const out = new Map<K, R[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}
