/**
 * The price response: how a node's heat, and its neighbours', move its reserve price, so that
 * work flows away from hot nodes with no central controller. Pure: time is passed in.
 *
 *  - heat ∈ [0, 1] (HeatLatch): 0 while cool; once the temperature reaches hotC it latches, and
 *    stays latched until it falls to hotC − hysteresisC; while latched, heat rises linearly from
 *    0 at hotC − hysteresisC to 1 at dyingC. An alarm is heat 1. A temperature hovering at hotC
 *    therefore latches once and then moves heat only a little (no switching on and off);
 *  - the target factor = 1 + raiseMax·own − lowerMax·neighbour·(1 − own), where `neighbour` is
 *    the hottest live neighbour's heat (1 if it raised the alarm). A hot node raises its price;
 *    a cool node beside a hot one lowers its own, to draw the work over; a node as hot as its
 *    neighbours does not lower. A node with no headroom does not lower either (it could not take
 *    the work). Bounds: [1 − lowerMax, 1 + raiseMax], 0.5 … 4 by default;
 *  - damping: the factor follows the target through a first-order lag, time constant
 *    priceTauMs (alarmTauMs while an alarm is in play, so a dying node sheds work in seconds);
 *  - hysteresis on the output: the factor a caller reads changes only when the damped value has
 *    moved more than priceDeadband (relative) from it, or has settled on the target, so a ripple
 *    smaller than the deadband never reaches the market.
 */
import { assert } from '../assert.js';
import { clamp } from './claim.js';

export interface PriceConfig {
  /** Where heat latches on (°C). */
  hotC: number;
  /** Where heat reaches 1, and the node raises its alarm by itself (°C). */
  dyingC: number;
  /** How far below hotC the temperature must fall to unlatch (°C); also how far below dyingC to clear a temperature alarm. */
  hysteresisC: number;
  /** The most a node's own heat raises its factor (1 + raiseMax at heat 1). */
  raiseMax: number;
  /** The most a hot neighbour lowers it (1 − lowerMax), in [0, 1). */
  lowerMax: number;
  /** The lag's time constant. */
  priceTauMs: number;
  /** The lag's time constant while an alarm (own or a neighbour's) is in play. */
  alarmTauMs: number;
  /** The output changes only when the damped value moved more than this fraction. */
  priceDeadband: number;
}

export function checkPriceConfig(c: PriceConfig): string | undefined {
  if (!(Number.isFinite(c.hotC) && Number.isFinite(c.dyingC) && c.hotC < c.dyingC)) return 'hotC < dyingC';
  if (!(c.hysteresisC >= 0 && c.hysteresisC < c.dyingC - c.hotC)) return '0 ≤ hysteresisC < dyingC − hotC';
  if (!(c.raiseMax >= 0 && c.raiseMax <= 100)) return '0 ≤ raiseMax ≤ 100';
  if (!(c.lowerMax >= 0 && c.lowerMax < 1)) return '0 ≤ lowerMax < 1';
  if (!(c.priceTauMs > 0 && c.alarmTauMs > 0 && Number.isFinite(c.priceTauMs) && Number.isFinite(c.alarmTauMs))) return 'priceTauMs, alarmTauMs > 0';
  if (!(c.priceDeadband >= 0 && c.priceDeadband < 0.5)) return '0 ≤ priceDeadband < 0.5';
  return undefined;
}

/** A node's own heat, with its hysteresis latch. */
export class HeatLatch {
  latched = false;
  constructor(private readonly c: PriceConfig) {}

  update(tempC: number): number {
    const c = this.c;
    if (!this.latched && tempC >= c.hotC) this.latched = true;
    else if (this.latched && tempC <= c.hotC - c.hysteresisC) this.latched = false;
    if (!this.latched) return 0;
    const from = c.hotC - c.hysteresisC;
    return clamp((tempC - from) / (c.dyingC - from), 0, 1);
  }
}

export class PriceResponse {
  private value = 1;
  private output = 1;
  private atMs = Number.NaN;
  private target = 1;
  private fast = false;

  constructor(private readonly c: PriceConfig) {}

  get min(): number {
    return 1 - this.c.lowerMax;
  }
  get max(): number {
    return 1 + this.c.raiseMax;
  }

  /** The undamped target for these inputs. */
  targetOf(own: number, neighbour: number, canTakeWork: boolean): number {
    const c = this.c;
    const lower = canTakeWork ? c.lowerMax * neighbour * (1 - own) : 0;
    return clamp(1 + c.raiseMax * own - lower, this.min, this.max);
  }

  /**
   * Advances the lag to `nowMs` under the old target, then sets the new one. Call it whenever an
   * input changes, so that each target is integrated over the time it held.
   */
  set(own: number, neighbour: number, canTakeWork: boolean, alarmInPlay: boolean, nowMs: number): void {
    this.advance(nowMs);
    this.target = this.targetOf(own, neighbour, canTakeWork);
    this.fast = alarmInPlay;
  }

  advance(nowMs: number): void {
    if (Number.isNaN(this.atMs)) {
      this.atMs = nowMs;
      return;
    }
    const dt = nowMs - this.atMs;
    if (!(dt > 0)) return;
    this.atMs = nowMs;
    const tau = this.fast ? this.c.alarmTauMs : this.c.priceTauMs;
    this.value = this.target + (this.value - this.target) * Math.exp(-dt / tau);
    // A settled value is taken exactly only when it is back to neutral (1: the heat has passed)
    // or beyond the deadband anyway: else a ripple slower than the lag (a temperature hovering
    // for minutes) would reach the market at each settling.
    const settled = Math.abs(this.value - this.target) <= 1e-3 * this.target;
    if (Math.abs(this.value - this.output) > this.c.priceDeadband * this.output) {
      this.output = settled ? this.target : this.value;
    } else if (settled && this.target === 1 && this.output !== 1) {
      this.output = 1;
    }
    assert(this.output >= this.min - 1e-9 && this.output <= this.max + 1e-9, 'the price factor stays within its bounds');
  }

  factor(nowMs: number): number {
    this.advance(nowMs);
    return this.output;
  }

  /** The damped value before the deadband, for tests. */
  get damped(): number {
    return this.value;
  }
}
