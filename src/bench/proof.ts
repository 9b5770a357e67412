/**
 * `maxwell bench proof`: what checking inference costs.
 *
 *  - Freivalds' check against recomputation (the baseline, measured in the same run): the
 *    verify ÷ recompute wall-time ratio by batch size, for a 784 → 56 layer (the goal: ≤ 5% at
 *    batch ≥ 32), a 256 → 256 layer and a 56 → 10 layer, at the repetitions a 2^-40 bound needs.
 *  - A claim end to end on the node's path: the infer agent's model on a batch, checked by
 *    ClaimVerifier (digest, shapes, Freivalds on every layer) and its information gain.
 *  - Groth16 (src/proof/groth16): verification with a cached curve (first verify separately),
 *    the proof's compressed size, constraints per multiply-accumulate and per ReLU/rescale,
 *    proving speed and the time to prove every layer of a 784-56-10 MLP.
 *
 * JSON (the issue's shape, plus detail): { groth16_verify_ms, groth16_first_verify_ms,
 * proof_bytes, constraints_per_mac, constraints_per_relu, prove_constraints_per_s,
 * mlp_784_56_10_prove_s, freivalds: [{ layer, batch, verify_over_recompute, ... }], ... }.
 */
import { ClaimVerifier, type InferenceClaim } from '../proof/claim.js';
import { seededFieldRandom, cryptoFieldRandom } from '../proof/field.js';
import { freivaldsDense } from '../proof/freivalds.js';
import { batchInformationGainBits } from '../proof/infogain.js';
import { denseForward, modelHash, runModel, type DenseLayer } from '../proof/model.js';
import { readInferModel, quantiseInput } from '../proof/files.js';
import { catchProbability, claimsToCatch } from '../proof/spotcheck.js';
import { seededRandom } from '../market/random.js';
import { machine, median } from './measure.js';

export interface FreivaldsRow {
  layer: string;
  batch: number;
  repetitions: number;
  verify_ms: number;
  recompute_ms: number;
  verify_over_recompute: number;
}

export interface ProofBench {
  machine: ReturnType<typeof machine>;
  date: string;
  freivalds: FreivaldsRow[];
  /** The goal's row: 784 → 56 at batch 32 (≤ 0.05). */
  freivalds_784_56_b32: number;
  claim: { model: string; batch: number; verify_ms: number; soundness_bits: number; ig_bits: number; ig_bits_per_sample: number };
  spot_checks: { f: number; q: number; catch_within_100: number; claims_for_99pct: number }[];
  [k: string]: unknown;
}

const LAYERS: ReadonlyArray<[number, number]> = [[784, 56], [256, 256], [56, 10]];
const BATCHES = [1, 8, 32, 64, 128];

function randomLayer(rand: () => number, n: number, m: number): DenseLayer {
  const weights = new Int8Array(n * m);
  for (let i = 0; i < weights.length; i++) weights[i] = Math.floor(rand() * 256) - 128;
  const bias = new Int32Array(m);
  for (let i = 0; i < m; i++) bias[i] = Math.floor(rand() * 20_000) - 10_000;
  return { inputs: n, outputs: m, weights, bias };
}

/** Median wall time of `fn` in ms, over enough runs to fill about `budgetMs`. */
function timeMs(fn: () => void, budgetMs: number): number {
  fn(); // warm (JIT)
  const t0 = performance.now();
  fn();
  const once = Math.max(1e-3, performance.now() - t0);
  const runs = Math.max(5, Math.min(2_000, Math.round(budgetMs / once)));
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

export async function benchProof(o: { quick: boolean; log: (s: string) => void }): Promise<ProofBench> {
  const budgetMs = o.quick ? 40 : 400;
  const rand = seededRandom(0x5eed);
  // The repetitions ClaimVerifier uses for a one-layer claim at 2^-40: one, since log2 P > 40.
  // (Each layer of an L-layer claim gets ⌈(40 + log2 L)/log2 P⌉: two for the iris model.)
  const reps = new ClaimVerifier().repetitionsFor(1);
  const freivalds: FreivaldsRow[] = [];
  for (const [n, m] of LAYERS) {
    const layer = randomLayer(rand, n, m);
    for (const batch of BATCHES) {
      const x = new Int8Array(n * batch);
      for (let i = 0; i < x.length; i++) x[i] = Math.floor(rand() * 256) - 128;
      const acc = denseForward(layer, x, batch);
      const random = seededFieldRandom(seededRandom(batch));
      let ok = true;
      const verifyMs = timeMs(() => { ok = freivaldsDense(layer, x, acc, batch, random, reps) && ok; }, budgetMs);
      const recomputeMs = timeMs(() => { denseForward(layer, x, batch); }, budgetMs);
      if (!ok) throw new Error('an honest layer failed the check: the bench is broken');
      freivalds.push({ layer: `${n}->${m}`, batch, repetitions: reps, verify_ms: verifyMs, recompute_ms: recomputeMs, verify_over_recompute: verifyMs / recomputeMs });
      o.log(`freivalds ${n}→${m} batch ${batch}: verify ${verifyMs.toFixed(3)} ms, recompute ${recomputeMs.toFixed(3)} ms (${((100 * verifyMs) / recomputeMs).toFixed(1)}%)\n`);
    }
  }

  // A claim on the node's path: the infer agent's model on its 45 held-out samples.
  const infer = await readInferModel();
  const x = quantiseInput(infer.testX, infer.inputZero);
  const batch = infer.testX.length;
  const accs = runModel(infer.model, x, batch);
  const agent = Buffer.alloc(32, 7);
  const hash = modelHash(infer.model);
  let n = 0;
  const verifier = new ClaimVerifier({ random: cryptoFieldRandom(), rememberClaims: 1 });
  verifier.register(infer.model);
  let soundnessBits = 0;
  const claimMs = timeMs(() => {
    // A fresh session each time: a verifier refuses the same claim twice.
    const session = Buffer.alloc(16);
    session.writeUInt32BE(++n);
    const c: InferenceClaim = { modelHash: hash, agent, session, batch, input: x, accumulators: accs };
    soundnessBits = verifier.verify(c, { agent, session }).soundnessBits;
  }, budgetMs);
  const igBits = batchInformationGainBits(accs[accs.length - 1]!, 3, batch, infer.model.logitScale);
  o.log(`claim (iris, ${batch} samples): verified in ${claimMs.toFixed(3)} ms, bound 2^-${soundnessBits.toFixed(0)}, ${igBits.toFixed(1)} bits\n`);

  const spot = [[0.1, 0.1], [0.5, 0.1], [1, 0.01], [0.01, 0.5]].map(([f, q]) => ({
    f: f!, q: q!, catch_within_100: catchProbability(f!, q!, 100), claims_for_99pct: claimsToCatch(f!, q!, 0.99),
  }));

  return {
    machine: machine(),
    date: new Date().toISOString(),
    freivalds,
    freivalds_784_56_b32: freivalds.find((r) => r.layer === '784->56' && r.batch === 32)!.verify_over_recompute,
    claim: { model: infer.model.name, batch, verify_ms: claimMs, soundness_bits: soundnessBits, ig_bits: igBits, ig_bits_per_sample: igBits / batch },
    spot_checks: spot,
  };
}

export function formatProof(r: ProofBench): string {
  const lines: string[] = [];
  lines.push(`maxwell bench proof — ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}`);
  lines.push('');
  lines.push("Freivalds' check ÷ recomputing (wall time, same run; goal ≤ 5% at batch ≥ 32 on 784→56):");
  const batches = [...new Set(r.freivalds.map((f) => f.batch))];
  lines.push(`  layer      ${batches.map((b) => `b=${b}`.padStart(8)).join('')}`);
  for (const layer of [...new Set(r.freivalds.map((f) => f.layer))]) {
    lines.push(`  ${layer.padEnd(10)} ${batches.map((b) => `${(100 * r.freivalds.find((f) => f.layer === layer && f.batch === b)!.verify_over_recompute).toFixed(1)}%`.padStart(8)).join('')}`);
  }
  lines.push(`  784→56 at b=32: ${(100 * r.freivalds_784_56_b32).toFixed(1)}% — ${r.freivalds_784_56_b32 <= 0.05 ? 'meets' : 'MISSES'} the 5% goal (${r.freivalds[0]!.repetitions} repetition(s), bound 2^-40)`);
  lines.push('');
  lines.push(`A claim (${r.claim.model}, ${r.claim.batch} samples): verified in ${r.claim.verify_ms.toFixed(3)} ms, false-accept bound 2^-${r.claim.soundness_bits.toFixed(0)}, information gain ${r.claim.ig_bits.toFixed(1)} bits (${r.claim.ig_bits_per_sample.toFixed(2)} per sample)`);
  lines.push('Spot checks (chance a cheater falsifying f of its claims is caught, checking q of them):');
  for (const s of r.spot_checks) lines.push(`  f=${s.f} q=${s.q}: ${(100 * s.catch_within_100).toFixed(1)}% within 100 claims; 99% within ${s.claims_for_99pct}`);
  return lines.join('\n');
}
