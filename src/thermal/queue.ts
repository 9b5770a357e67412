/**
 * A transmit-limited queue (SWIM's piggyback buffer; memberlist's TransmitLimitedQueue): each
 * entry is sent on up to `limit` messages, the least-sent first, and then forgotten. (Urgent
 * entries, an alarm or a refutation, have a queue of their own that is drained first.) A later
 * entry with the same key replaces an earlier one. Bounded: when full, the most-sent entry makes
 * room (it has had the most chances to spread already).
 */
import { assert } from '../assert.js';

export interface Queued {
  key: number;
  transmits: number;
  limit: number;
}

export class TransmitQueue<T extends Queued> {
  private readonly entries: T[] = [];

  constructor(readonly capacity: number) {
    assert(capacity >= 1, 'a queue holds something');
  }

  get size(): number {
    return this.entries.length;
  }

  get(key: number): T | undefined {
    for (const e of this.entries) if (e.key === key) return e;
    return undefined;
  }

  put(entry: T): void {
    const es = this.entries;
    for (let i = 0; i < es.length; i++) {
      if (es[i]!.key === entry.key) {
        es[i] = entry;
        return;
      }
    }
    if (es.length >= this.capacity) {
      let worst = 0;
      for (let i = 1; i < es.length; i++) if (es[i]!.transmits > es[worst]!.transmits) worst = i;
      es[worst] = es[es.length - 1]!;
      es.pop();
    }
    es.push(entry);
  }

  remove(key: number): void {
    const es = this.entries;
    for (let i = 0; i < es.length; i++) {
      if (es[i]!.key === key) {
        es[i] = es[es.length - 1]!;
        es.pop();
        return;
      }
    }
  }

  /** Removes every entry the predicate matches. */
  removeWhere(match: (e: T) => boolean): void {
    const es = this.entries;
    let j = 0;
    for (let i = 0; i < es.length; i++) if (!match(es[i]!)) es[j++] = es[i]!;
    es.length = j;
  }

  /**
   * Offers up to `max` entries to `send`, least-sent first; each one `send` accepts
   * counts as one transmission. `send` returns false when the message is full. Entries past their
   * limit are dropped. Returns how many were sent.
   */
  take(max: number, send: (e: T) => boolean): number {
    const es = this.entries;
    if (es.length === 0 || max <= 0) return 0;
    if (es.length > max) es.sort((a, b) => a.transmits - b.transmits);
    const n = Math.min(max, es.length);
    let spent = false;
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const e = es[i]!;
      if (!send(e)) break;
      sent++;
      e.transmits++;
      if (e.transmits >= e.limit) spent = true;
    }
    if (spent) this.removeWhere((e) => e.transmits >= e.limit);
    return sent;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    yield* this.entries;
  }
}

/**
 * The adverts a node is spreading: (member, version) pairs, each sent on up to `limit` messages
 * and then forgotten, or forgotten sooner once HEARD_LIMIT peers have advertised the same version
 * back (Demers' feedback: the news has spread). Sent round-robin from a cursor, so every entry has
 * been sent as often as any other, to within one. Flat arrays and a member → slot index: put,
 * take and remove are O(1) each, whatever the size (a cluster starting up has ~n entries in play).
 * When full, the entry under the cursor (among the most sent) makes room.
 */
export class AdvertRing {
  private readonly member: Int32Array;
  private readonly version: Float64Array;
  private readonly transmits: Uint8Array;
  private readonly limit: Uint8Array;
  private readonly heardBy: Uint8Array;
  private readonly slotOf: Int32Array;
  private count = 0;
  private cursor = 0;
  private readonly spent: number[] = [];

  constructor(
    readonly capacity: number,
    members: number,
    private readonly heardLimit: number,
  ) {
    assert(capacity >= 1 && capacity <= 0xffff, 'a ring holds 1 … 65,535 adverts');
    this.member = new Int32Array(capacity);
    this.version = new Float64Array(capacity);
    this.transmits = new Uint8Array(capacity);
    this.limit = new Uint8Array(capacity);
    this.heardBy = new Uint8Array(capacity);
    this.slotOf = new Int32Array(members).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  put(m: number, version: number, limit: number): void {
    assert(limit >= 1 && limit <= 255, 'an advert is sent 1 … 255 times');
    let s = this.slotOf[m]!;
    if (s < 0) {
      if (this.count === this.capacity) this.removeSlot(this.cursor);
      s = this.count++;
      this.member[s] = m;
      this.slotOf[m] = s;
    }
    this.version[s] = version;
    this.transmits[s] = 0;
    this.heardBy[s] = 0;
    this.limit[s] = limit;
  }

  remove(m: number): void {
    const s = this.slotOf[m]!;
    if (s >= 0) this.removeSlot(s);
  }

  /** A peer advertised (m, version): if that is the version being spread, count it as heard. */
  heard(m: number, version: number): void {
    const s = this.slotOf[m]!;
    if (s >= 0 && this.version[s] === version && ++this.heardBy[s]! >= this.heardLimit) this.removeSlot(s);
  }

  /** Offers up to `max` adverts to `send` (false: the message is full), each at most once. */
  take(max: number, send: (member: number, version: number) => boolean): void {
    const count = this.count;
    const n = Math.min(max, count);
    if (n <= 0) return;
    if (this.cursor >= count) this.cursor = 0;
    // Distinct slots from the cursor, wrapping; the spent ones are removed afterwards, highest
    // first, so that a removal (which moves the last entry into the hole) moves none still pending.
    const spent = this.spent;
    spent.length = 0;
    let s = this.cursor;
    for (let k = 0; k < n; k++) {
      if (!send(this.member[s]!, this.version[s]!)) break;
      if (++this.transmits[s]! >= this.limit[s]!) spent.push(s);
      s = s + 1 === count ? 0 : s + 1;
    }
    this.cursor = s;
    if (spent.length > 0) {
      spent.sort((a, b) => b - a);
      for (const x of spent) this.removeSlot(x);
    }
  }

  private removeSlot(s: number): void {
    const last = --this.count;
    this.slotOf[this.member[s]!] = -1;
    if (s !== last) {
      const m = this.member[last]!;
      this.member[s] = m;
      this.version[s] = this.version[last]!;
      this.transmits[s] = this.transmits[last]!;
      this.limit[s] = this.limit[last]!;
      this.heardBy[s] = this.heardBy[last]!;
      this.slotOf[m] = s;
    }
  }

  /** The invariant, for tests: slots and the index agree. */
  isValid(): boolean {
    let indexed = 0;
    for (let m = 0; m < this.slotOf.length; m++) {
      const s = this.slotOf[m]!;
      if (s < 0) continue;
      indexed++;
      if (s >= this.count || this.member[s] !== m) return false;
    }
    return indexed === this.count;
  }
}
