/**
 * Figures for `maxwell bench proof`: what a Groth16 verify costs, cold and warm, and how it grows
 * with the number of public signals (docs/groth16-verifier.md, "Figures").
 *
 *   npx tsc -p tsconfig.json && node dist/src/proof/groth16/verify-bench.js [--runs N] [--threads]
 *
 * prints the figures for the 4×4 dense-layer fixture (test/fixtures/groth16/dense4) and the
 * per-signal scaling on synthetic keys, as JSON. The first-verify figure is only cold for the
 * first verifier a process builds: run once per mode (--threads) for both cold figures.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MaxwellError } from '../../errors.js';
import { encodeProof, invMod, R, type Bn254, type SnarkjsProof } from './encoding.js';
import { Groth16Verifier } from './verifier.js';

/** Warm runs are bounded: a benchmark is not a way to keep a node busy. */
export const MAX_RUNS = 10_000;

export interface VerifyFigures {
  /** Cold: curve build + prepare + first verify, in a fresh verifier. */
  groth16_first_verify_ms: number;
  /** The parts of the cold figure. */
  groth16_curve_build_ms: number;
  groth16_prepare_ms: number;
  /** Median of the warm verifies (proof bytes decoded and checked each time). */
  groth16_verify_ms: number;
  groth16_verify_p99_ms: number;
  proof_bytes: number;
  public_signals: number;
  threads: boolean;
  runs: number;
}

export interface MeasureVerifyOptions {
  /** verification_key.json as snarkjs exports it. */
  vk: unknown;
  /** proof.json (encoded to bytes before timing) or the 128 bytes. */
  proof: SnarkjsProof | Uint8Array;
  publicSignals: readonly (bigint | string)[];
  /** Warm runs, 1..MAX_RUNS (default 100). */
  runs?: number;
  threads?: boolean;
}

function checkRuns(runs: number): void {
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_RUNS) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `runs must be an integer in [1, ${MAX_RUNS}]`, { runs });
  }
}

/** The value below which a fraction q of the samples lie (nearest rank). */
export function percentile(samples: readonly number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/** Times a verify of a valid proof: cold once, then `runs` warm verifies. Throws if it does not verify. */
export async function measureVerify(o: MeasureVerifyOptions): Promise<VerifyFigures> {
  const runs = o.runs ?? 100;
  checkRuns(runs);
  const threads = o.threads ?? false;
  const bytes = o.proof instanceof Uint8Array ? o.proof : encodeProof(o.proof);
  const t0 = performance.now();
  const v = await Groth16Verifier.create({ threads });
  try {
    const t1 = performance.now();
    const key = v.prepare(o.vk);
    const t2 = performance.now();
    const ok = await v.verify(key, o.publicSignals, bytes);
    const t3 = performance.now();
    if (!ok) throw new MaxwellError(ErrorCode.PROOF_INVALID, 'measureVerify needs a proof that verifies');
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await v.verify(key, o.publicSignals, bytes);
      times.push(performance.now() - t);
    }
    return {
      groth16_first_verify_ms: round3(t3 - t0),
      groth16_curve_build_ms: round3(t1 - t0),
      groth16_prepare_ms: round3(t2 - t1),
      groth16_verify_ms: round3(percentile(times, 0.5)),
      groth16_verify_p99_ms: round3(percentile(times, 0.99)),
      proof_bytes: bytes.length,
      public_signals: o.publicSignals.length,
      threads,
      runs,
    };
  } finally {
    await v.terminate();
  }
}

/** A deterministic nonzero scalar below r, from a seed and a label. */
function scalar(seed: number, label: string): bigint {
  const h = createHash('sha256').update(`maxwell/groth16-synthetic/${seed}/${label}`).digest('hex');
  return (BigInt('0x' + h) % (R - 1n)) + 1n;
}

/**
 * A key with n public signals and a valid proof for random full-size signals, made with a known
 * trapdoor (α, β, γ, δ and the ICᵢ's discrete logs), for timing only: with the trapdoor anyone
 * can prove anything, so such a key must never be trusted. C is solved from
 *   a·b = α·β + γ·(ic₀ + Σ xᵢ·icᵢ) + δ·c   (mod r),  A = a·G1, B = b·G2, C = c·G1.
 */
export function synthesizeGroth16(bn: Bn254, nPublic: number, seed = 1): { vk: unknown; proof: SnarkjsProof; publicSignals: string[] } {
  const { G1, G2 } = bn.curve;
  const g1 = (s: bigint): string[] => {
    const p = bn.g1FromCurve(G1.toAffine(G1.timesScalar(G1.g, s)));
    return [p.x.toString(), p.y.toString(), '1'];
  };
  const g2 = (s: bigint): string[][] => {
    const p = bn.g2FromCurve(G2.toAffine(G2.timesScalar(G2.g, s)));
    return [[p.x[0].toString(), p.x[1].toString()], [p.y[0].toString(), p.y[1].toString()], ['1', '0']];
  };
  const [alpha, beta, gamma, delta, a, b] = ['alpha', 'beta', 'gamma', 'delta', 'a', 'b'].map((l) => scalar(seed, l)) as [bigint, bigint, bigint, bigint, bigint, bigint];
  const ic = Array.from({ length: nPublic + 1 }, (_, i) => scalar(seed, `ic${i}`));
  const x = Array.from({ length: nPublic }, (_, i) => scalar(seed, `x${i}`));
  let vkx = ic[0]!;
  for (let i = 0; i < nPublic; i++) vkx = (vkx + x[i]! * ic[i + 1]!) % R;
  const c = ((((a * b - alpha * beta - gamma * vkx) % R) + R) % R) * invMod(delta, R) % R;
  return {
    vk: {
      protocol: 'groth16',
      curve: 'bn128',
      nPublic,
      vk_alpha_1: g1(alpha),
      vk_beta_2: g2(beta),
      vk_gamma_2: g2(gamma),
      vk_delta_2: g2(delta),
      IC: ic.map(g1),
    },
    proof: { pi_a: g1(a), pi_b: g2(b), pi_c: g1(c), protocol: 'groth16', curve: 'bn128' },
    publicSignals: x.map(String),
  };
}

export interface ScalingFigures {
  points: { public_signals: number; groth16_verify_ms: number; groth16_prepare_ms: number }[];
  /** Least-squares slope and intercept of the median verify time over the signal count. */
  per_signal_ms: number;
  base_ms: number;
  threads: boolean;
  runs: number;
}

/** How the warm verify grows with the number of public signals, on synthetic keys (full-size signals). */
export async function measureVerifyScaling(o: { counts?: readonly number[]; runs?: number; threads?: boolean } = {}): Promise<ScalingFigures> {
  const counts = o.counts ?? [0, 8, 32, 128, 512];
  const runs = o.runs ?? 30;
  checkRuns(runs);
  const threads = o.threads ?? false;
  const v = await Groth16Verifier.create({ threads });
  try {
    const points: ScalingFigures['points'] = [];
    for (const n of counts) {
      const s = synthesizeGroth16(v.bn, n);
      const t = performance.now();
      const key = v.prepare(s.vk);
      const prepareMs = performance.now() - t;
      const bytes = encodeProof(s.proof);
      if (!(await v.verify(key, s.publicSignals, bytes))) throw new Error(`synthetic proof for n = ${n} does not verify`);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await v.verify(key, s.publicSignals, bytes);
        times.push(performance.now() - t);
      }
      points.push({ public_signals: n, groth16_verify_ms: round3(percentile(times, 0.5)), groth16_prepare_ms: round3(prepareMs) });
    }
    const m = points.length;
    const mx = points.reduce((a, p) => a + p.public_signals, 0) / m;
    const my = points.reduce((a, p) => a + p.groth16_verify_ms, 0) / m;
    const sxy = points.reduce((a, p) => a + (p.public_signals - mx) * (p.groth16_verify_ms - my), 0);
    const sxx = points.reduce((a, p) => a + (p.public_signals - mx) ** 2, 0);
    const slope = sxx === 0 ? 0 : sxy / sxx;
    return { points, per_signal_ms: Math.round(slope * 1e5) / 1e5, base_ms: round3(my - slope * mx), threads, runs };
  } finally {
    await v.terminate();
  }
}

async function main(argv: string[]): Promise<void> {
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 200;
  const threads = argv.includes('--threads');
  const dir = new URL('../../../../test/fixtures/groth16/dense4/', import.meta.url);
  const read = async (f: string): Promise<unknown> => JSON.parse(await readFile(new URL(f, dir), 'utf8'));
  const fixture = await measureVerify({
    vk: await read('vk.json'),
    proof: (await read('proof.json')) as SnarkjsProof,
    publicSignals: (await read('public.json')) as string[],
    runs,
    threads,
  });
  const scaling = await measureVerifyScaling({ runs: Math.min(runs, 50), threads });
  console.log(JSON.stringify({ fixture, scaling }, null, 1));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
