/**
 * Arithmetic modulo P, the least prime above 2^40, in plain doubles. Freivalds' check
 * (freivalds.ts) runs in this field: one random vector from it catches a wrong product with
 * probability at least 1 − 1/P > 1 − 2^-40, so a single repetition meets the 2^-40 bound.
 *
 * Why 2^40 and doubles: the check's cost is dominated by r·W over int8 weights and (r·W)·X over
 * int8 activations. With r < 2^41 and |w| ≤ 2^7, each product is below 2^48, so sixteen of them
 * add up exactly (< 2^52) before a reduction: the inner loops are plain multiply-adds on
 * Float64Arrays, which V8 runs at full speed. A 61-bit field would need BigInt or limb
 * splitting in the inner loop, for one repetition either way.
 */
import { randomBytes } from 'node:crypto';

/** The least prime above 2^40. */
export const P = 1_099_511_627_791;
/** −log2 of the chance that one random vector misses a wrong product: log2(P) (just over 40). */
export const SOUNDNESS_BITS = Math.log2(P);
/** Terms of |value| < 2^48 that may be added before a reduction (their sum stays below 2^52). */
export const TERMS_PER_REDUCTION = 16;

/** x mod P in [0, P), for an integer-valued double with |x| < 2^53 − 2^42 (q·P then stays exact). */
export function mod(x: number): number {
  // floor(x / P) can be one off when x / P rounds across an integer: fixed by one step.
  let r = x - Math.floor(x / P) * P;
  if (r < 0) r += P;
  else if (r >= P) r -= P;
  return r;
}

/**
 * a·y mod P for a in [0, P) and y a 32-bit integer: |y| in limbs of 11, 10 and 10 bits, by
 * Horner, so that every intermediate stays below 2^52 (where `mod` is exact).
 */
export function mulInt32(a: number, y: number): number {
  const neg = y < 0;
  let m = neg ? -y : y; // ≤ 2^31
  const y0 = m % 1024;
  m = (m - y0) / 1024;
  const y1 = m % 1024;
  const y2 = (m - y1) / 1024; // < 2^11
  let t = mod(a * y2); // a·y2 < 2^52
  t = mod(t * 1024 + a * y1); // each term < 2^51
  t = mod(t * 1024 + a * y0);
  return neg && t !== 0 ? P - t : t;
}

/** A source of field elements, uniform in [0, P). */
export type FieldRandom = () => number;

/**
 * Uniform field elements from the operating system's CSPRNG (the default: a prover must not
 * be able to predict the verifier's vector). 41-bit draws above P are rejected (about half).
 */
export function cryptoFieldRandom(): FieldRandom {
  let buf = randomBytes(0);
  let at = 0;
  return () => {
    for (;;) {
      if (at + 6 > buf.length) {
        buf = randomBytes(6 * 1024);
        at = 0;
      }
      const v = buf.readUIntBE(at, 6) % 2 ** 41; // 48 bits, keep 41: uniform
      at += 6;
      if (v < P) return v;
    }
  };
}

/** Field elements from a seeded generator (tests and benchmarks only: predictable). */
export function seededFieldRandom(next: () => number): FieldRandom {
  return () => {
    for (;;) {
      const v = Math.floor(next() * 2 ** 21) * 2 ** 20 + Math.floor(next() * 2 ** 20);
      if (v < P) return v;
    }
  };
}
