/**
 * The simulator's clock: a binary min-heap of events ordered by (time, sequence number).
 *
 * Every event is a few numbers in typed arrays (its time, kind, two integer arguments) plus an
 * optional payload (a message's bytes); the heap itself is an Int32Array of event slots, and
 * freed slots are reused, so a million messages in flight cost no objects beyond their bytes.
 * Ties in time are broken by the order in which events were scheduled (the sequence number):
 * that, and nothing else, makes a run with one seed replay exactly.
 *
 * A limit on everything: the queue holds at most `maxEvents` events; a run that would need more
 * is refused with E_SIM_LIMIT (a cluster too large or a gossip too chatty for this limit), not
 * allowed to eat the machine's memory.
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';

export interface EventQueueInit {
  /** The most events pending at once. */
  maxEvents: number;
  /** Slots allocated at first (the queue grows by doubling up to maxEvents). */
  initialEvents?: number;
}

export class EventQueue {
  readonly maxEvents: number;
  private timeMs: Float64Array;
  private seq: Float64Array;
  private kind: Uint8Array;
  private argA: Int32Array;
  private argB: Int32Array;
  private payload: (Uint8Array | undefined)[];
  /** heap[0..size) holds event slots; heap order on (timeMs, seq). */
  private heap: Int32Array;
  private free: Int32Array;
  private freeTop = 0;
  private capacity: number;
  private size_ = 0;
  private nextSeq = 0;
  /** Events ever scheduled (for the report). */
  scheduled = 0;
  /** The most events pending at once (for the report). */
  highWater = 0;

  constructor(init: EventQueueInit) {
    assert(Number.isInteger(init.maxEvents) && init.maxEvents >= 1 && init.maxEvents <= 2 ** 28, 'maxEvents in [1, 2^28]');
    this.maxEvents = init.maxEvents;
    this.capacity = Math.min(init.maxEvents, Math.max(16, init.initialEvents ?? 4096));
    this.timeMs = new Float64Array(this.capacity);
    this.seq = new Float64Array(this.capacity);
    this.kind = new Uint8Array(this.capacity);
    this.argA = new Int32Array(this.capacity);
    this.argB = new Int32Array(this.capacity);
    this.payload = new Array<Uint8Array | undefined>(this.capacity).fill(undefined);
    this.heap = new Int32Array(this.capacity);
    this.free = new Int32Array(this.capacity);
    for (let i = this.capacity - 1; i >= 0; i--) this.free[this.freeTop++] = i;
  }

  get size(): number {
    return this.size_;
  }

  /** The time of the earliest event, or Infinity when none is pending. */
  peekTimeMs(): number {
    return this.size_ === 0 ? Infinity : this.timeMs[this.heap[0]!]!;
  }

  push(timeMs: number, kind: number, a: number, b: number, payload?: Uint8Array): void {
    assert(Number.isFinite(timeMs), 'an event has a finite time');
    if (this.freeTop === 0) this.grow();
    const slot = this.free[--this.freeTop]!;
    this.timeMs[slot] = timeMs;
    this.seq[slot] = this.nextSeq++;
    this.kind[slot] = kind;
    this.argA[slot] = a;
    this.argB[slot] = b;
    this.payload[slot] = payload;
    let i = this.size_++;
    this.scheduled++;
    if (this.size_ > this.highWater) this.highWater = this.size_;
    // Sift up.
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!this.before(slot, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  /**
   * Takes the earliest event; its fields are readable through the `out` object until the next
   * pop. Returns false when the queue is empty.
   */
  pop(out: PoppedEvent): boolean {
    if (this.size_ === 0) return false;
    const heap = this.heap;
    const top = heap[0]!;
    out.timeMs = this.timeMs[top]!;
    out.kind = this.kind[top]!;
    out.a = this.argA[top]!;
    out.b = this.argB[top]!;
    out.payload = this.payload[top];
    this.payload[top] = undefined;
    this.free[this.freeTop++] = top;
    const last = heap[--this.size_]!;
    const n = this.size_;
    if (n > 0) {
      // Sift down from the root.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && this.before(heap[r]!, heap[l]!)) c = r;
        if (!this.before(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return true;
  }

  private before(x: number, y: number): boolean {
    const tx = this.timeMs[x]!;
    const ty = this.timeMs[y]!;
    return tx < ty || (tx === ty && this.seq[x]! < this.seq[y]!);
  }

  private grow(): void {
    if (this.capacity >= this.maxEvents) {
      throw new MaxwellError(ErrorCode.SIM_LIMIT, `the simulator's event queue is full (${this.maxEvents} events pending): fewer nodes, or a longer gossip interval`, { maxEvents: this.maxEvents });
    }
    const old = this.capacity;
    const cap = Math.min(this.maxEvents, old * 2);
    const f64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    const i32 = (a: Int32Array) => { const b = new Int32Array(cap); b.set(a); return b; };
    this.timeMs = f64(this.timeMs);
    this.seq = f64(this.seq);
    const k = new Uint8Array(cap);
    k.set(this.kind);
    this.kind = k;
    this.argA = i32(this.argA);
    this.argB = i32(this.argB);
    this.heap = i32(this.heap);
    this.free = new Int32Array(cap);
    this.freeTop = 0;
    for (let i = cap - 1; i >= old; i--) this.free[this.freeTop++] = i;
    for (let i = old; i < cap; i++) this.payload.push(undefined);
    this.capacity = cap;
  }

  /** Heap order holds and every slot is either pending or free (for the tests). */
  isValid(): boolean {
    for (let i = 1; i < this.size_; i++) if (this.before(this.heap[i]!, this.heap[(i - 1) >> 1]!)) return false;
    return this.size_ + this.freeTop === this.capacity;
  }
}

export interface PoppedEvent {
  timeMs: number;
  kind: number;
  a: number;
  b: number;
  payload: Uint8Array | undefined;
}

export function poppedEvent(): PoppedEvent {
  return { timeMs: 0, kind: 0, a: 0, b: 0, payload: undefined };
}
