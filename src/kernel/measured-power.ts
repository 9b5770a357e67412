/**
 * The node's measured power, where it has a meter the kernel can read (RAPL package and DRAM
 * zones, src/energy/sensors): the power cap controller then holds the node's real power under
 * its cap, not the model's estimate. Sampling is asynchronous (sysfs reads), so the loop polls
 * it every tick and uses the latest reading while it is fresh; a stale or missing reading falls
 * back to the model, and every figure says which it is.
 */
import { isMaxwellError } from '../errors.js';
import { RaplMeter, type RaplSample } from '../energy/sensors/index.js';

/** Read the counters at most this often (ms): RAPL updates about every millisecond. */
export const MEASURE_EVERY_MS = 100;
/** A reading older than this (ms) is not used. */
export const MEASURE_FRESH_MS = 1_000;

export interface PowerMeter {
  /** Starts a reading if one is due (never waits). */
  poll(nowMs: number): void;
  /** The latest measured power (W) if fresh, else undefined. */
  powerW(nowMs: number): number | undefined;
  /** Energy measured since the meter opened (J), over `measuredMs` of intervals. */
  readonly energyJ: number;
  readonly measuredMs: number;
  /** What is measured, for people: "RAPL intel-rapl:0, intel-rapl:1". */
  readonly describe: string;
}

export class RaplPowerMeter implements PowerMeter {
  energyJ = 0;
  measuredMs = 0;
  readonly describe: string;
  private last: RaplSample;
  private reading = false;
  /** After a failed read the next sample only restarts the interval: an average over the gap is not a fresh reading. */
  private resync = false;
  private lastPollMs = -Infinity;
  private latestW: number | undefined;
  private latestAtMs = -Infinity;
  private readonly meter: RaplMeter;
  private readonly now: () => number;

  private constructor(meter: RaplMeter, first: RaplSample, now: () => number) {
    this.meter = meter;
    this.last = first;
    this.now = now;
    this.describe = `RAPL ${meter.zones.filter((z) => z.summed).map((z) => z.id).join(', ')}`;
  }

  /**
   * A meter over the node's summed RAPL zones; `{ meter: undefined }` without RAPL, or with a
   * `problem` when zones exist but cannot be read (commonly: not root).
   */
  static async open(o: { root?: string; now?: () => number } = {}): Promise<{ meter?: RaplPowerMeter; problem?: string }> {
    let meter: RaplMeter | undefined;
    try {
      meter = await RaplMeter.open(o.root === undefined ? {} : { root: o.root });
    } catch (err) {
      if (isMaxwellError(err)) return { problem: `RAPL is present but unreadable (${err.message}): power is estimated by the model` };
      throw err;
    }
    if (meter === undefined || !meter.zones.some((z) => z.summed)) return {};
    return { meter: new RaplPowerMeter(meter, await meter.sample(), o.now ?? Date.now) };
  }

  poll(nowMs: number): void {
    if (this.reading || nowMs - this.lastPollMs < MEASURE_EVERY_MS) return;
    this.reading = true;
    this.lastPollMs = nowMs;
    this.meter.sample().then((s) => {
      const prev = this.last;
      this.last = s;
      if (this.resync) {
        this.resync = false;
        return;
      }
      const interval = this.meter.interval(prev, s);
      const total = interval.total;
      if (total !== undefined && Number.isFinite(total.powerW)) {
        this.latestW = total.powerW;
        this.latestAtMs = this.now();
        this.energyJ += total.energyJ;
        this.measuredMs += interval.durationMs;
      }
    }, () => {
      // A failed read leaves the last reading to go stale (the model takes over) and the next
      // good one restarts the interval.
      this.resync = true;
    }).finally(() => {
      this.reading = false;
    });
  }

  powerW(nowMs: number): number | undefined {
    return nowMs - this.latestAtMs <= MEASURE_FRESH_MS ? this.latestW : undefined;
  }
}
