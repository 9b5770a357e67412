/**
 * Information gain of a verified classification: IG = log2(C) − H(p) bits, where p is the
 * softmax of the verified logits (real logit = accumulator × the model's logitScale) and C the
 * number of classes. A uniform answer gains 0 bits; a certain one log2(C). The node computes it
 * from the verified outputs itself: an agent's own figure is never taken.
 *
 * Rewards are paid in whole milli-bits, rounded down (rounding never creates tokens).
 */
import { assert } from '../assert.js';

/** Bits gained by one sample's logits (integers) at `scale`. */
export function informationGainBits(logits: ArrayLike<number>, scale: number): number {
  const c = logits.length;
  assert(c >= 2 && scale > 0, 'at least two classes and a positive scale');
  let max = -Infinity;
  for (let i = 0; i < c; i++) max = Math.max(max, logits[i]! * scale);
  let z = 0;
  for (let i = 0; i < c; i++) z += Math.exp(logits[i]! * scale - max);
  // H(p) = −Σ p_i log2 p_i with p_i = e^(a_i − max) / z, computed as log2 z − Σ p_i (a_i − max)/ln 2.
  let h = Math.log2(z);
  for (let i = 0; i < c; i++) {
    const a = logits[i]! * scale - max;
    const p = Math.exp(a) / z;
    h -= (p * a) / Math.LN2;
  }
  const ig = Math.log2(c) - h;
  // Rounding can leave a hair below 0 or above log2(C).
  return Math.min(Math.log2(c), Math.max(0, ig));
}

/** Bits gained over a batch: logits are classes × batch (column k = sample k). */
export function batchInformationGainBits(logits: Int32Array, classes: number, batch: number, scale: number): number {
  assert(logits.length === classes * batch, 'logits are classes × batch');
  const col = new Float64Array(classes);
  let total = 0;
  for (let k = 0; k < batch; k++) {
    for (let i = 0; i < classes; i++) col[i] = logits[i * batch + k]!;
    total += informationGainBits(col, scale);
  }
  return total;
}

/** Whole milli-bits, rounded down (what a reward is paid on). */
export function milliBits(bits: number): number {
  return Math.floor(bits * 1000 + 1e-9);
}
