// Luminaire ids interned in flat typed arrays: the UTF-8 bytes of every id back to back, one offset
// per dense index, and an open-addressing hash (linear probing) from id to index. On 64-bit V8 a
// string per id (~32 B), its slot in an array (8 B) and a Map entry (~40 B) cost ~80 B per luminaire,
// more than the whole dimming state; this costs the id's own bytes, 4 B of offset and ~8 B of hash.
// Ids are never removed (the engine's indices are dense and stable), so there are no tombstones.

const MAX_LOAD = 0.75;

export class IdTable {
  private bytes: Uint8Array;
  private used = 0;
  /** id i is bytes[offsets[i] .. offsets[i + 1]) */
  private offsets: Uint32Array;
  private n = 0;
  /** index + 1 per slot, 0 = empty */
  private slots: Int32Array;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private scratch = new Uint8Array(64);

  constructor(expectedIds: number, bytesPerId = 12) {
    const n = Math.max(16, expectedIds);
    this.bytes = new Uint8Array(n * bytesPerId);
    this.offsets = new Uint32Array(n + 1);
    this.slots = new Int32Array(Math.ceil(n / MAX_LOAD));
  }

  get size(): number {
    return this.n;
  }

  /** Bytes held, slack of the growable buffers included. */
  byteLength(): number {
    return this.bytes.byteLength + this.offsets.byteLength + this.slots.byteLength + this.scratch.byteLength;
  }

  idOf(index: number): string {
    if (index < 0 || index >= this.n) return '';
    return this.decoder.decode(this.bytes.subarray(this.offsets[index] as number, this.offsets[index + 1] as number));
  }

  indexOf(id: string): number {
    const len = this.encode(id);
    const slot = this.find(len, hash(this.scratch, len));
    const v = this.slots[slot] as number;
    return v === 0 ? -1 : v - 1;
  }

  /** The index of `id`, added with the next index when new. */
  add(id: string): number {
    const len = this.encode(id);
    const h = hash(this.scratch, len);
    const slot = this.find(len, h);
    const v = this.slots[slot] as number;
    if (v !== 0) return v - 1;
    const i = this.n++;
    if (this.n + 1 > this.offsets.length) this.offsets = growU32(this.offsets, this.offsets.length * 2);
    if (this.used + len > this.bytes.length) {
      // ×1.5, not ×2: the slack is memory held per luminaire and counted as such
      const b = new Uint8Array(Math.max(this.used + len, Math.ceil(this.bytes.length * 1.5)));
      b.set(this.bytes.subarray(0, this.used));
      this.bytes = b;
    }
    this.bytes.set(this.scratch.subarray(0, len), this.used);
    this.used += len;
    this.offsets[i + 1] = this.used;
    if (this.n > this.slots.length * MAX_LOAD) this.rehash(Math.ceil(this.slots.length * 1.5));
    else this.slots[slot] = i + 1;
    return i;
  }

  /** UTF-8 of `id` into scratch; returns its length. */
  private encode(id: string): number {
    if (this.scratch.length < id.length * 3) this.scratch = new Uint8Array(id.length * 3);
    return this.encoder.encodeInto(id, this.scratch).written;
  }

  /** Slot holding scratch[0..len), or the empty slot where it would go. */
  private find(len: number, h: number): number {
    const { slots, offsets, bytes, scratch } = this;
    const size = slots.length;
    let s = slotOf(h, size);
    for (;;) {
      const v = slots[s] as number;
      if (v === 0) return s;
      const start = offsets[v - 1] as number;
      if ((offsets[v] as number) - start === len) {
        let k = 0;
        while (k < len && bytes[start + k] === scratch[k]) k++;
        if (k === len) return s;
      }
      s = s + 1 === size ? 0 : s + 1;
    }
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size);
    for (let i = 0; i < this.n; i++) {
      const start = this.offsets[i] as number;
      let s = slotOf(hash(this.bytes.subarray(start), (this.offsets[i + 1] as number) - start), size);
      while (slots[s] !== 0) s = s + 1 === size ? 0 : s + 1;
      slots[s] = i + 1;
    }
    this.slots = slots;
  }
}

/**
 * A 32-bit hash onto [0, size) by multiply-shift (exact in doubles: 2^32 × size < 2^53), so the table
 * can be sized to the load factor instead of the next power of two (up to 2× the slots).
 */
function slotOf(h: number, size: number): number {
  return Math.floor((h * size) / 4294967296);
}

/** FNV-1a over the first `len` bytes. */
function hash(b: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < len; k++) h = Math.imul(h ^ (b[k] as number), 0x01000193);
  return h >>> 0;
}

function growU32(a: Uint32Array, size: number): Uint32Array {
  const b = new Uint32Array(size);
  b.set(a);
  return b;
}
