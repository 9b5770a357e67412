// A tiny deterministic network for the heat protocol's tests: seeded randomness, latency with
// jitter (so messages are reordered), loss, duplication, per-node extra delay (a slow node),
// partitions and healing. One event queue (a binary heap ordered by time, then by insertion) drives
// every node's ticks at the times the nodes ask for (nextTickMs) and every delivery.
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/ledger/keys.js';
import { seededRandom } from '../../src/market/random.js';
import { ed25519Crypto, HeatNode, type HeatConfig, type HeatCrypto } from '../../src/thermal/protocol.js';

export interface NetOptions {
  nodes: number;
  seed: number;
  /** One-way latency: base + uniform jitter. */
  latencyMs?: number;
  jitterMs?: number;
  loss?: number;
  duplicate?: number;
  config?: Partial<HeatConfig>;
  /** Node index → its neighbours' indexes (default: every member). */
  neighbours?: (i: number, n: number) => number[];
  /** Extra one-way delay on everything a node sends and receives (a slow node). */
  slowMs?: (i: number) => number;
  /** The transport copies what it is sent (HeatTransport.copiesBytes): nodes lend their scratch buffers. */
  copiesBytes?: boolean;
}

interface Event {
  t: number;
  order: number;
  to: number;
  /** -1: a tick; else the sender's index. */
  from: number;
  bytes: Uint8Array | undefined;
}

/** Verdicts by the exact bytes verified, shared by every node of every test (a verdict never changes). */
const seen = new Map<string, boolean>();

/** A verifier that caches results by the exact bytes it was given: the same answers as Ed25519, each checked once. */
export function memoised(inner: HeatCrypto): HeatCrypto {
  return {
    sign: (m) => inner.sign(m),
    verify(pub, m, sig) {
      const key = Buffer.from(pub).toString('latin1') + Buffer.from(m).toString('latin1') + Buffer.from(sig).toString('latin1');
      let ok = seen.get(key);
      if (ok === undefined) {
        ok = inner.verify(pub, m, sig);
        seen.set(key, ok);
      }
      return ok;
    },
  };
}

/** Keys are slow to make: tests share one pool. */
const keyPool: { privateKey: import('node:crypto').KeyObject; raw: Uint8Array }[] = [];
export function keys(n: number): { privateKey: import('node:crypto').KeyObject; raw: Uint8Array }[] {
  while (keyPool.length < n) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    keyPool.push({ privateKey, raw: new Uint8Array(rawPublicKey(publicKey)) });
  }
  return keyPool.slice(0, n);
}

export const nameOf = (i: number) => `n${String(i).padStart(4, '0')}`;

export class Net {
  readonly nodes: HeatNode[] = [];
  readonly ids: string[] = [];
  readonly members = new Map<string, Uint8Array>();
  readonly random: () => number;
  readonly cryptos: HeatCrypto[] = [];
  /** With copiesBytes: the distinct buffers the nodes handed to send (lent scratch buffers: one a node). */
  readonly lentBuffers = new Set<ArrayBufferLike>();
  now = 0;
  loss: number;
  duplicate: number;
  latencyMs: number;
  jitterMs: number;
  delivered = 0;
  dropped = 0;
  /** Group per node: messages cross only within a group. */
  private readonly group: Int32Array;
  private readonly heap: Event[] = [];
  private order = 0;
  private readonly tickAt: Float64Array;
  private readonly slow: Float64Array;
  private readonly indexOf = new Map<string, number>();
  /** Called after each delivery and tick with the node index (tests watch for things here). */
  onEvent: ((i: number) => void) | undefined;
  /** Every outcome of every delivery. */
  readonly outcomes: Record<string, number> = {};

  constructor(o: NetOptions) {
    this.random = seededRandom(o.seed);
    this.loss = o.loss ?? 0;
    this.duplicate = o.duplicate ?? 0;
    this.latencyMs = o.latencyMs ?? 1;
    this.jitterMs = o.jitterMs ?? 1;
    const ks = keys(o.nodes);
    for (let i = 0; i < o.nodes; i++) {
      this.ids.push(nameOf(i));
      this.members.set(nameOf(i), ks[i]!.raw);
      this.indexOf.set(nameOf(i), i);
    }
    this.group = new Int32Array(o.nodes);
    this.tickAt = new Float64Array(o.nodes).fill(Number.POSITIVE_INFINITY);
    this.slow = new Float64Array(o.nodes);
    for (let i = 0; i < o.nodes; i++) {
      const crypto = memoised(ed25519Crypto(ks[i]!.privateKey));
      this.cryptos.push(crypto);
      const neighbours = o.neighbours ? new Set(o.neighbours(i, o.nodes).map(nameOf)) : undefined;
      const node = new HeatNode(
        {
          id: nameOf(i),
          publicKey: ks[i]!.raw,
          crypto,
          members: this.members,
          transport: o.copiesBytes === true
            ? {
                send: (to, bytes) => {
                  this.lentBuffers.add(bytes.buffer);
                  this.send(i, to, bytes.slice());
                },
                copiesBytes: true,
              }
            : { send: (to, bytes) => this.send(i, to, bytes) },
          random: seededRandom(o.seed * 7919 + i + 1),
          ...(neighbours ? { neighbours } : {}),
        },
        o.config,
      );
      this.nodes.push(node);
      this.slow[i] = o.slowMs?.(i) ?? 0;
    }
    for (let i = 0; i < o.nodes; i++) this.schedule(i, 0);
  }

  index(id: string): number {
    return this.indexOf.get(id)!;
  }

  /** Cuts the given nodes off from the rest (and from each other, if `alone`). */
  partition(nodes: number[]): void {
    for (const i of nodes) this.group[i] = 1;
  }

  heal(): void {
    this.group.fill(0);
  }

  private send(from: number, to: string, bytes: Uint8Array): void {
    const j = this.indexOf.get(to);
    if (j === undefined) return;
    const copies = this.random() < this.duplicate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      if (this.random() < this.loss) {
        this.dropped++;
        continue;
      }
      const t = this.now + this.latencyMs + this.random() * this.jitterMs + this.slow[from]! + this.slow[j]!;
      this.push({ t, order: this.order++, to: j, from, bytes });
    }
  }

  /** Delivers `bytes` to node `to` as if sent by `from` (an attacker's injection), after the usual latency. */
  inject(fromId: string, to: number, bytes: Uint8Array): void {
    this.push({ t: this.now + this.latencyMs, order: this.order++, to, from: -2, bytes, ...{ fromId } } as Event & { fromId: string });
  }

  private schedule(i: number, t: number): void {
    if (!(t < this.tickAt[i]!)) return;
    this.tickAt[i] = t;
    this.push({ t, order: this.order++, to: i, from: -1, bytes: undefined });
  }

  private reschedule(i: number): void {
    const t = this.nodes[i]!.nextTickMs();
    if (t === Number.POSITIVE_INFINITY) return;
    this.schedule(i, Number.isNaN(t) || t < this.now ? this.now : t);
  }

  /** Runs every event up to time `until` (ms). */
  run(until: number): void {
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.t <= until) {
      const e = this.pop();
      this.now = e.t;
      const i = e.to;
      if (e.from === -1) {
        if (this.tickAt[i] !== e.t) continue; // superseded by an earlier tick
        this.tickAt[i] = Number.POSITIVE_INFINITY;
        this.nodes[i]!.tick(e.t);
        if (!(this.nodes[i]!.nextTickMs() > e.t)) throw new Error(`${this.ids[i]} asks to tick again at ${this.nodes[i]!.nextTickMs()} after ticking at ${e.t}`);
      } else {
        const fromId = e.from === -2 ? (e as Event & { fromId: string }).fromId : this.ids[e.from]!;
        if (e.from >= 0 && this.group[e.from] !== this.group[i]) {
          this.dropped++;
          continue;
        }
        this.delivered++;
        const o = this.nodes[i]!.receive(fromId, e.bytes!, e.t);
        this.outcomes[o] = (this.outcomes[o] ?? 0) + 1;
      }
      this.reschedule(i);
      this.onEvent?.(i);
    }
    this.now = until;
  }

  totalBytesSent(): number {
    let b = 0;
    for (const n of this.nodes) b += n.stats.bytesSent;
    return b;
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let k = h.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!before(h[k]!, h[p]!)) break;
      [h[k], h[p]] = [h[p]!, h[k]!];
      k = p;
    }
  }

  private pop(): Event {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === k) break;
        [h[k], h[m]] = [h[m]!, h[k]!];
        k = m;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.t < b.t || (a.t === b.t && a.order < b.order);
}

/** A steady reading: cool, or at `tempC`. */
export function reading(tempC = 50, powerW = 200, headroomW = 100, price = 1) {
  return { tempC, powerW, headroomW, price };
}
