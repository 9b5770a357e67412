/**
 * The power cap controller: sets the node's reserve price so that its average power stays at
 * or below its cap. A pure core: time and the node's power come in as arguments.
 *
 * Why a price: slots are sold by auction (src/market), and only bids at or above the reserve
 * clear. Raising the reserve sells fewer slots to fewer, more urgent processes, so the node
 * draws less; lowering it sells more. The controller never picks processes: it moves one
 * number, and the market does the rest.
 *
 * The loop, every control tick (the kernel's slot round, a few ms):
 *
 *   1. P̄ ← P̄ + (P − P̄)·(1 − e^(−dt/τ))        power smoothed over τ (default 100 ms): one
 *                                               slot's on/off must not swing the price, yet an
 *                                               overload must show within a few rounds;
 *   2. e ← (P̄ − target)/cap                      the error as a fraction of the cap, with
 *                                               target = cap × (1 − headroom) (default 5%), so
 *                                               the average settles below the cap, not on it;
 *   3. if |e| < deadband: e ← 0                  hysteresis: no chasing of noise near target;
 *   4. I ← max(0, I + e·dt) (frozen while the price is clamped: anti-windup)
 *   5. log r ← log r_base + max(0, kp·e + ki·I)  a PI law on the logarithm of the price, since
 *                                               bids span decades and a step of x% in price
 *                                               is the same act at any price level; one-sided,
 *                                               since the cap only ever raises the price;
 *   6. r ← clamp(r, r_min, r_max), and r may rise at most `maxStepUp`× and fall at most
 *      `maxStepDown`× per second (damping: the price returns slowly after an overload, so it
 *      does not fall straight back into it).
 *
 * Under overload (demand far above the cap) the integral keeps raising the price until enough
 * bids fall below it; when demand falls the integral unwinds and the price returns to its base.
 * Tested under a step of demand (test/kernel/power-cap.spec.ts): it settles within a few
 * seconds, and the overshoot of the smoothed power above the cap is measured and bounded.
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';

export interface PowerCapInit {
  /** The node's power cap (W). */
  capW: number;
  /** The price when the node is under its target: the reserve a quiet node asks (tokens/J). */
  basePrice?: number;
  /** The price range the controller may use (tokens/J). */
  minPrice?: number;
  maxPrice?: number;
  /** Aim this fraction below the cap (0.05: target 95% of cap). */
  headroom?: number;
  /** Errors smaller than this fraction of the cap count as none. */
  deadband?: number;
  /** Smoothing time constant of the power (ms). */
  tauMs?: number;
  /** Proportional gain (log-price per unit of error) and integral gain (per error·second). */
  kp?: number;
  ki?: number;
  /** The price may grow at most this factor per second, and shrink at most this factor per second. */
  maxStepUp?: number;
  maxStepDown?: number;
}

export const POWER_CAP_DEFAULTS = Object.freeze({
  basePrice: 1,
  minPrice: 1e-3,
  maxPrice: 1e6,
  headroom: 0.05,
  deadband: 0.01,
  // Tuned on the step test (test/kernel/power-cap.spec.ts): a fast filter and strong gains cut
  // the overshoot of the 1 s mean power from 75% (τ = 1 s, slew 8×/s) to ~13%; the price may
  // rise fast (an overload is an emergency) and falls at most 8×/s (damping on the way down).
  tauMs: 100,
  kp: 8,
  ki: 30,
  maxStepUp: 10_000,
  maxStepDown: 8,
});

export interface PowerCapState {
  /** Smoothed power (W). */
  avgPowerW: number;
  /** The reserve price now (tokens/J). */
  reservePrice: number;
  /** The error (fraction of the cap) and the integral term, for inspection. */
  error: number;
  integral: number;
  /** Whether the price sits at one of its bounds. */
  clamped: boolean;
}

export class PowerCapController {
  readonly capW: number;
  private readonly p: Required<Omit<PowerCapInit, 'capW'>>;
  private avgPowerW = NaN;
  private integral = 0;
  private price: number;
  private lastMs = NaN;
  private error = 0;
  private clamped = false;

  constructor(init: PowerCapInit) {
    const p = { ...POWER_CAP_DEFAULTS, ...init };
    const bad = (what: string) => new MaxwellError(ErrorCode.BAD_ARGUMENT, `power cap controller: ${what}`);
    if (!(init.capW > 0) || !Number.isFinite(init.capW)) throw bad(`the cap must be a positive number of watts, not ${init.capW}`);
    if (!(p.minPrice > 0 && p.minPrice <= p.basePrice && p.basePrice <= p.maxPrice && Number.isFinite(p.maxPrice))) {
      throw bad(`prices must satisfy 0 < min ≤ base ≤ max < ∞ (got ${p.minPrice}, ${p.basePrice}, ${p.maxPrice})`);
    }
    if (!(p.headroom >= 0 && p.headroom < 1) || !(p.deadband >= 0 && p.deadband < 1)) throw bad('headroom and deadband are fractions in [0, 1)');
    if (!(p.tauMs > 0) || !(p.kp >= 0) || !(p.ki >= 0) || !(p.maxStepUp > 1) || !(p.maxStepDown > 1)) throw bad('τ > 0, gains ≥ 0, step limits > 1');
    this.capW = init.capW;
    this.p = p;
    this.price = p.basePrice;
  }

  get targetW(): number {
    return this.capW * (1 - this.p.headroom);
  }

  get state(): PowerCapState {
    return { avgPowerW: this.avgPowerW, reservePrice: this.price, error: this.error, integral: this.integral, clamped: this.clamped };
  }

  /** Feeds the node's power (W, measured or estimated) at `nowMs`; returns the reserve price to use from now on. */
  update(nowMs: number, powerW: number): number {
    if (!Number.isFinite(nowMs) || !Number.isFinite(powerW) || powerW < 0) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `power cap controller: time and power must be finite and power ≥ 0 (got ${nowMs} ms, ${powerW} W)`);
    }
    if (Number.isNaN(this.lastMs)) {
      this.lastMs = nowMs;
      this.avgPowerW = powerW;
      return this.price;
    }
    const dtMs = nowMs - this.lastMs;
    if (dtMs <= 0) return this.price; // a repeated or stepped-back clock changes nothing
    this.lastMs = nowMs;
    const p = this.p;
    const dt = dtMs / 1000;
    this.avgPowerW += (powerW - this.avgPowerW) * (1 - Math.exp(-dtMs / p.tauMs));
    let e = (this.avgPowerW - this.targetW) / this.capW;
    if (Math.abs(e) < p.deadband) e = 0;
    this.error = e;
    // Anti-windup: integrate only while the last price was free, or while the error would pull it back in.
    const atMax = this.price >= p.maxPrice;
    const atMin = this.price <= p.minPrice;
    if (!(atMax && e > 0) && !(atMin && e < 0)) this.integral = Math.max(0, this.integral + e * dt);
    // One-sided: the cap only ever raises the price above its base. Under the target the
    // integral unwinds to 0 and the cap asks nothing (other signals, such as a hot neighbour's
    // heat, may lower the price; that is not this controller's business).
    const wanted = Math.log(p.basePrice) + Math.max(0, p.kp * e + p.ki * this.integral);
    // Damping: the log-price moves at most log(maxStep) per second.
    const up = Math.log(p.maxStepUp) * dt;
    const down = Math.log(p.maxStepDown) * dt;
    const now = Math.log(this.price);
    let next = Math.min(now + up, Math.max(now - down, wanted));
    next = Math.min(Math.log(p.maxPrice), Math.max(Math.log(p.minPrice), next));
    this.clamped = next >= Math.log(p.maxPrice) || next <= Math.log(p.minPrice);
    this.price = Math.exp(next);
    assert(this.price > 0 && Number.isFinite(this.price), 'the reserve price is a positive number');
    return this.price;
  }
}
