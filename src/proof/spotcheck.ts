/**
 * Optimistic spot checks: the node re-executes a random fraction q of the claims it accepts
 * (recomputing them exactly, model.ts runModel). A cheater who falsifies a fraction f of its
 * claims has each one caught with probability f·q, independently, so it survives N claims with
 * probability (1 − f·q)^N. Pure: the decision takes its randomness as an argument.
 */
import { ErrorCode, MaxwellError } from '../errors.js';

function checkRate(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${name} must be a fraction in [0, 1], not ${v}`);
}

/** The chance that a cheater falsifying fraction f of its claims is caught within n claims at rate q. */
export function catchProbability(f: number, q: number, n: number): number {
  checkRate('f', f);
  checkRate('q', q);
  if (!Number.isInteger(n) || n < 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `n must be a whole number of claims, not ${n}`);
  // 1 − (1 − fq)^n, computed without cancellation for small fq.
  return -Math.expm1(n * Math.log1p(-f * q));
}

/** The fewest claims after which such a cheater is caught with probability ≥ p. */
export function claimsToCatch(f: number, q: number, p: number): number {
  checkRate('f', f);
  checkRate('q', q);
  checkRate('p', p);
  if (p === 0) return 0;
  if (f * q === 0) return Infinity;
  if (f * q === 1) return 1;
  return Math.ceil(Math.log1p(-p) / Math.log1p(-f * q));
}

/** Whether to re-execute this claim (draw uniform in [0, 1) from the node's source). */
export function shouldSpotCheck(rate: number, draw: number): boolean {
  checkRate('rate', rate);
  return draw < rate;
}
