/**
 * SQL LIKE (`%` any run, `_` one character, backslash escapes the next character), compared
 * case-insensitively as on the MySQL and SQLite databases MLMD runs on, without backtracking.
 *
 * A regular expression built from the pattern backtracks: `'a…a' LIKE '%a%a%a%a%a%a%a%a%b'` took
 * seconds per row and froze the server. Here the pattern is split at `%` into segments; the first
 * must match at the start, the last at the end, and each one between at its leftmost place after
 * the previous one — leftmost is always safe, since whatever a later segment could use after a
 * later match it can also use after the leftmost one. Each segment is tried once per position, so
 * a match costs at most (text length × longest segment) comparisons, and is counted as it goes.
 */

/** `_` in a compiled segment. */
const ANY = -1;

export interface LikePattern {
  /** The pattern split at `%`, each a list of folded code units or ANY. One segment: no `%` at all. */
  readonly segments: readonly Int32Array[];
}

/** Something that counts comparisons and may stop the match by throwing. */
export interface StepCounter {
  work(n: number): void;
}

/** Comparisons counted locally before they are reported. */
const REPORT_EVERY = 4096;

export function compileLike(pattern: string): LikePattern {
  const segments: Int32Array[] = [];
  let current: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x5c /* \ */ && i + 1 < pattern.length) current.push(fold(pattern.charCodeAt(++i)));
    else if (c === 0x25 /* % */) {
      segments.push(Int32Array.from(current));
      current = [];
    } else if (c === 0x5f /* _ */) current.push(ANY);
    else current.push(fold(c));
  }
  segments.push(Int32Array.from(current));
  return { segments };
}

export function likeMatches(p: LikePattern, text: string, counter: StepCounter): boolean {
  const { segments } = p;
  const meter = new LocalCount(counter);
  try {
    if (segments.length === 1) {
      const only = segments[0]!;
      return text.length === only.length && matchAt(text, 0, only, meter);
    }
    const first = segments[0]!;
    const last = segments[segments.length - 1]!;
    if (text.length < first.length + last.length) return false;
    if (!matchAt(text, 0, first, meter)) return false;
    const end = text.length - last.length;
    if (!matchAt(text, end, last, meter)) return false;
    let pos = first.length;
    for (let s = 1; s < segments.length - 1; s++) {
      const seg = segments[s]!;
      if (seg.length === 0) continue;
      const at = leftmost(text, seg, pos, end, meter);
      if (at < 0) return false;
      pos = at + seg.length;
    }
    return true;
  } finally {
    meter.flush();
  }
}

class LocalCount {
  n = 0;

  constructor(private readonly counter: StepCounter) {}

  add(k: number): void {
    this.n += k;
    if (this.n >= REPORT_EVERY) this.flush();
  }

  flush(): void {
    if (this.n > 0) {
      const n = this.n;
      this.n = 0;
      this.counter.work(n);
    }
  }
}

function matchAt(text: string, at: number, seg: Int32Array, meter: LocalCount): boolean {
  let i = 0;
  for (; i < seg.length; i++) {
    const want = seg[i]!;
    if (want !== ANY && fold(text.charCodeAt(at + i)) !== want) break;
  }
  meter.add(i + 1);
  return i === seg.length;
}

/** The first position in [from, end − length] where `seg` matches, or −1. */
function leftmost(text: string, seg: Int32Array, from: number, end: number, meter: LocalCount): number {
  const lastStart = end - seg.length;
  const head = seg[0]!;
  for (let at = from; at <= lastStart; at++) {
    if (head !== ANY && fold(text.charCodeAt(at)) !== head) {
      meter.add(1);
      continue;
    }
    if (matchAt(text, at, seg, meter)) return at;
  }
  return -1;
}

let FOLD: Uint16Array | undefined;

/**
 * Case folding per UTF-16 code unit, as a case-insensitive JavaScript regular expression compares
 * (what this evaluator did before): a unit maps to its upper case when that is one unit, and a
 * non-ASCII unit never folds into ASCII.
 */
function fold(c: number): number {
  FOLD ??= buildFoldTable();
  return FOLD[c]!;
}

function buildFoldTable(): Uint16Array {
  const table = new Uint16Array(0x10000);
  for (let c = 0; c < 0x10000; c++) {
    const upper = String.fromCharCode(c).toUpperCase();
    const u = upper.length === 1 ? upper.charCodeAt(0) : c;
    table[c] = c >= 0x80 && u < 0x80 ? c : u;
  }
  return table;
}
