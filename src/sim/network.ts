/**
 * The simulated network between the nodes: latency, loss, partitions, dead and slow nodes.
 *
 * A message from node a to node b, sent at time t:
 *
 *   - is not sent at all if a is down (a dead node says nothing);
 *   - is lost if an active partition puts a's rack and b's rack on different sides
 *     (`lostToPartition`), or else with probability `loss`, independently of every other
 *     message (`lostToLoss`);
 *   - otherwise arrives at t + base + jitter + slowness, where base is `intraRackMs` within a
 *     rack and `interRackMs` between racks, jitter is exponential with mean `jitterMs` (queues
 *     in switches: mostly short, sometimes long), and slowness is exponential with mean
 *     slowMs[a] + slowMs[b] (a slow node, one with a busy CPU or a long GC pause, is slow
 *     both to send and to read);
 *   - is lost on arrival if b is down by then (`lostToDown`).
 *
 * Draws come from the random stream given to the constructor, in the order messages are sent,
 * so a run replays exactly from its seed. The network keeps no queue of its own: the caller
 * schedules the delivery at the time `route` returns (events.ts).
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import type { Random } from '../market/random.js';

export interface Partition {
  startMs: number;
  endMs: number;
  /**
   * Groups of racks: a message between racks in different groups is lost while the partition
   * lasts. Racks named in no group form one more group together.
   */
  groups: readonly (readonly number[])[];
}

export interface NetworkInit {
  racks: number;
  nodesPerRack: number;
  /** One-way latency within a rack and between racks (ms). */
  intraRackMs: number;
  interRackMs: number;
  /** Mean of the exponential queueing delay added to every message (ms). */
  jitterMs: number;
  /** Probability that a message is lost, in [0, 1). */
  loss: number;
  partitions?: readonly Partition[];
  /** Per node, the mean extra delay of a slow node (ms; 0 for a normal node). */
  slowMs?: Float64Array;
  /**
   * Endpoints outside the racks (the dispatcher), numbered after the nodes: reached at
   * interRackMs from every rack (they sit by the spine), never slow, never cut off by a
   * partition (a partition here splits racks), never down.
   */
  outside?: number;
}

/** route() answers a delivery time (≥ 0) or one of these. */
export const NOT_SENT_DOWN = -1;
export const LOST_TO_PARTITION = -2;
export const LOST_TO_LOSS = -3;

export interface NetworkCounters {
  messagesSent: number;
  bytesSent: number;
  lostToLoss: number;
  lostToPartition: number;
  lostToDown: number;
  notSentDown: number;
  delivered: number;
}

export class Network {
  readonly nodes: number;
  readonly up: Uint8Array;
  readonly counters: NetworkCounters = { messagesSent: 0, bytesSent: 0, lostToLoss: 0, lostToPartition: 0, lostToDown: 0, notSentDown: 0, delivered: 0 };
  private readonly init: NetworkInit;
  private readonly random: Random;
  private readonly slowMs: Float64Array;
  /** Per partition, the group of each rack. */
  private readonly sides: { startMs: number; endMs: number; groupOf: Int32Array }[];

  constructor(init: NetworkInit, random: Random) {
    const bad = (what: string) => new MaxwellError(ErrorCode.BAD_ARGUMENT, `network: ${what}`);
    if (!Number.isInteger(init.racks) || init.racks < 1 || !Number.isInteger(init.nodesPerRack) || init.nodesPerRack < 1) throw bad('racks and nodes per rack are positive integers');
    if (!(init.loss >= 0 && init.loss < 1)) throw bad(`loss is a probability in [0, 1), not ${init.loss}`);
    for (const [k, v] of [['intraRackMs', init.intraRackMs], ['interRackMs', init.interRackMs], ['jitterMs', init.jitterMs]] as const) {
      if (!(v >= 0 && Number.isFinite(v))) throw bad(`${k} must be a finite number ≥ 0, not ${v}`);
    }
    this.init = init;
    this.random = random;
    this.nodes = init.racks * init.nodesPerRack;
    const outside = init.outside ?? 0;
    if (!Number.isInteger(outside) || outside < 0) throw bad(`outside endpoints are an integer ≥ 0, not ${outside}`);
    this.up = new Uint8Array(this.nodes + outside).fill(1);
    assert(init.slowMs === undefined || init.slowMs.length === this.nodes, 'one slowness per node');
    // Outside endpoints are never slow: their entries stay 0.
    this.slowMs = new Float64Array(this.nodes + outside);
    if (init.slowMs !== undefined) this.slowMs.set(init.slowMs);
    this.sides = (init.partitions ?? []).map((p) => {
      if (!(p.startMs <= p.endMs)) throw bad(`a partition ends after it starts (${p.startMs}..${p.endMs} ms)`);
      const groupOf = new Int32Array(init.racks).fill(p.groups.length);
      p.groups.forEach((g, gi) => {
        for (const r of g) {
          if (!Number.isInteger(r) || r < 0 || r >= init.racks) throw bad(`a partition names rack ${r}, and racks are 0..${init.racks - 1}`);
          groupOf[r] = gi;
        }
      });
      return { startMs: p.startMs, endMs: p.endMs, groupOf };
    });
  }

  /** A node's rack; an outside endpoint's is -1 (a rack of its own). */
  rackOf(node: number): number {
    return node < this.nodes ? Math.floor(node / this.init.nodesPerRack) : -1;
  }

  /** Whether an active partition separates the two nodes at `nowMs`. */
  partitioned(a: number, b: number, nowMs: number): boolean {
    if (this.sides.length === 0) return false;
    const ra = this.rackOf(a);
    const rb = this.rackOf(b);
    if (ra === rb || ra < 0 || rb < 0) return false;
    for (const s of this.sides) {
      if (nowMs >= s.startMs && nowMs < s.endMs && s.groupOf[ra] !== s.groupOf[rb]) return true;
    }
    return false;
  }

  /** A message of `bytes` from a to b sent at nowMs: its delivery time, or why it is not delivered. */
  route(a: number, b: number, bytes: number, nowMs: number): number {
    if (this.up[a] === 0) {
      this.counters.notSentDown++;
      return NOT_SENT_DOWN;
    }
    this.counters.messagesSent++;
    this.counters.bytesSent += bytes;
    if (this.partitioned(a, b, nowMs)) {
      this.counters.lostToPartition++;
      return LOST_TO_PARTITION;
    }
    // Always draw both numbers, so that turning loss on or off changes no other draw.
    const lossDraw = this.random();
    const jitterDraw = this.random();
    if (lossDraw < this.init.loss) {
      this.counters.lostToLoss++;
      return LOST_TO_LOSS;
    }
    const base = this.rackOf(a) === this.rackOf(b) ? this.init.intraRackMs : this.init.interRackMs;
    // Exponential draws by inversion; 1 − u is in (0, 1], so the log is finite.
    let delay = base - this.init.jitterMs * Math.log(1 - jitterDraw);
    const slow = this.slowMs[a]! + this.slowMs[b]!;
    if (slow > 0) delay -= slow * Math.log(1 - this.random());
    return nowMs + delay;
  }

  /** At delivery: whether the receiver is up to take it (counts the loss otherwise). */
  arrive(b: number): boolean {
    if (this.up[b] === 0) {
      this.counters.lostToDown++;
      return false;
    }
    this.counters.delivered++;
    return true;
  }
}
