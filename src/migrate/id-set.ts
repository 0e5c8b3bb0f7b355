/**
 * A set of integer ids in bits: 1 bit per id of each 65,536-id block that holds any.
 * `plan` remembers which MLMD artifacts it has counted; MLMD ids are auto-increment, so a database
 * of ten million artifacts costs about 1.2 MiB here, where a Set of their row UUIDs took tens to
 * hundreds of bytes per row (~410 measured, before ids were built as flat strings).
 */
const BLOCK_BITS = 16;
const BLOCK_WORDS = (1 << BLOCK_BITS) / 32;

export class IdSet {
  private readonly blocks = new Map<number, Uint32Array>();
  private count = 0;

  /** Adds `id`; true when it was not there yet. */
  add(id: number): boolean {
    if (!Number.isSafeInteger(id)) throw new RangeError(`IdSet holds integer ids, not ${id}`);
    const blockNo = Math.floor(id / (1 << BLOCK_BITS));
    const offset = id - blockNo * (1 << BLOCK_BITS);
    let block = this.blocks.get(blockNo);
    if (!block) {
      block = new Uint32Array(BLOCK_WORDS);
      this.blocks.set(blockNo, block);
    }
    const word = offset >>> 5;
    const bit = 1 << (offset & 31);
    if ((block[word]! & bit) !== 0) return false;
    block[word] = block[word]! | bit;
    this.count++;
    return true;
  }

  has(id: number): boolean {
    if (!Number.isSafeInteger(id)) return false;
    const blockNo = Math.floor(id / (1 << BLOCK_BITS));
    const offset = id - blockNo * (1 << BLOCK_BITS);
    const block = this.blocks.get(blockNo);
    return block !== undefined && (block[offset >>> 5]! & (1 << (offset & 31))) !== 0;
  }

  get size(): number {
    return this.count;
  }
}
