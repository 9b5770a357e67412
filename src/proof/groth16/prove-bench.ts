/**
 * Measurements for `maxwell bench proof` (Groth16 part): the gadgets' constraint counts, each
 * compiled on its own (circuits/maxwell_dense.circom's Measure* templates and PackedCommitment),
 * and the proving time of a seeded random int8 784-56-10 MLP with power-of-two rescales, one sample,
 * private weights, every layer proved in chunks that fit a 2^12 or 2^13 setup.
 *
 * The setup is generated on first use and cached (setup.ts): minutes for 2^13, reported apart
 * (`setup_s`) and never included in a proving time. The progress callback says when that happens.
 */
import { seededRandom } from '../../market/random.js';
import { denseForward, type DenseLayer } from '../model.js';
import { readInferModel } from '../files.js';
import { compileSource, planLayer, zBitsFor } from './circuit.js';
import { chainWidth, elementCount } from './commitment.js';
import { expectedOutputs, proveLayer } from './prover.js';
import { DEFAULT_CACHE_DIR, ensurePtau, releaseCurve, type PtauMethod } from './setup.js';

export interface Groth16BenchOptions {
  cacheDir?: string;
  /** The setup every MLP chunk fits (12 or 13; default 13). */
  power?: 12 | 13;
  /** Phase-1 generation when it is not cached (default 'direct', setup.ts). */
  method?: PtauMethod;
  seed?: number;
  /** Only the constraint counts (seconds), not the MLP (minutes). */
  countsOnly?: boolean;
  onProgress?: (line: string) => void;
}

export interface Groth16MlpFigures {
  shape: [number, number, number];
  power: number;
  chunks: number;
  /** Distinct circuits (each has its own proving key). */
  circuits: number;
  constraints: number;
  macs: number;
  witness_s: number;
  prove_s: number;
  per_layer: { chunks: number; constraints: number; rows_per_chunk: number; cols_per_chunk: number; prove_s: number }[];
  /** The MLP's outputs equal model.ts's recomputation. */
  outputs_match: boolean;
}

export interface Groth16Bench {
  /** Dense part of a private-weights layer (commitment excluded): constraints ÷ multiply-accumulates. */
  constraints_per_mac: number;
  /** Range checks + packing + Poseidon, per committed weight (for the MLP's first-layer chunk shape). */
  commitment_constraints_per_weight: number;
  /** Rescale + ReLU with a power-of-two rescale (M = 1), W sized for the MLP's first layer. */
  constraints_per_relu: number;
  relu_z_bits: number;
  /** The same with the iris agent's multiplier (M ≈ 2^30, S = 35): bits(M) more. */
  constraints_per_relu_big_multiplier: number;
  big_multiplier_z_bits: number;
  /** Constraints proved per second of witness + prove, over the MLP's chunks. */
  prove_constraints_per_s?: number;
  mlp_784_56_10_prove_s?: number;
  mlp?: Groth16MlpFigures;
  /** Seconds spent in this run making missing setup (phase 1, keys, compiles); 0 when all was cached. */
  setup_s?: number;
  /** Of which generating the phase-1 file, when it was not cached. */
  ptau_s?: number;
  figures: 'measured';
}

function randomLayer(rand: () => number, inputs: number, outputs: number, shift?: number): DenseLayer {
  const weights = Int8Array.from({ length: inputs * outputs }, () => Math.floor(rand() * 256) - 128);
  const bias = Int32Array.from({ length: outputs }, () => Math.floor(rand() * 8192) - 4096);
  return { inputs, outputs, weights, bias, ...(shift !== undefined ? { requant: { multiplier: 1, shift, lo: 0, hi: 127 } } : {}) };
}

/** The seeded MLP and its one input: layer 1's shift puts the largest |accumulator| near 2^8 (a spread of activations). */
export function benchMlp(seed = 1): { layers: [DenseLayer, DenseLayer]; x: Int8Array } {
  const rand = seededRandom(seed);
  const x = Int8Array.from({ length: 784 }, () => Math.floor(rand() * 256) - 128);
  const l1 = randomLayer(rand, 784, 56, 1);
  const acc = denseForward(l1, x, 1);
  const maxAcc = acc.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  l1.requant!.shift = Math.max(1, Math.ceil(Math.log2(maxAcc)) - 8);
  return { layers: [l1, randomLayer(rand, 56, 10)], x };
}

export async function benchGroth16(o: Groth16BenchOptions = {}): Promise<Groth16Bench> {
  const say = o.onProgress ?? (() => {});
  const cacheDir = o.cacheDir ?? DEFAULT_CACHE_DIR;
  const power = o.power ?? 13;
  const { layers, x } = benchMlp(o.seed ?? 1);
  const [l1, l2] = layers;
  const inc = 'include "maxwell_dense.circom";';
  const compile = (main: string, widths: number[] = []) => compileSource(`pragma circom 2.1.0;\n${inc}\n${main}\n`, widths, { cacheDir, onProgress: say });

  say('constraint counts: compiling the gadgets on their own');
  const [R, C, B] = [8, 64, 2];
  const macs = await compile(`component main {public [x]} = MeasureMacs(${R}, ${C}, ${B});`);
  const plan1 = planLayer(l1, { batch: 1, weights: 'private', power });
  const first = plan1[0]!;
  const commit = await compile(`component main = PackedCommitment(${first.rows}, ${first.cols}, ${first.rows});`, [chainWidth(elementCount(first.rows, first.cols, first.rows))]);
  const N = 16;
  const w1 = zBitsFor(l1);
  const r1 = l1.requant!;
  const relu = await compile(`component main {public [acc]} = MeasureRequant(${N}, ${w1}, ${r1.shift}, 1, 0, 127);`);
  const iris = (await readInferModel()).model.layers[0]!;
  const wi = zBitsFor(iris);
  const ri = iris.requant!;
  const reluBig = await compile(`component main {public [acc]} = MeasureRequant(${N}, ${wi}, ${ri.shift}, ${ri.multiplier}, ${ri.lo}, ${ri.hi});`);
  const out: Groth16Bench = {
    constraints_per_mac: macs.constraints / (R * C * B),
    commitment_constraints_per_weight: commit.constraints / (first.rows * first.cols),
    constraints_per_relu: relu.constraints / N,
    relu_z_bits: w1,
    constraints_per_relu_big_multiplier: reluBig.constraints / N,
    big_multiplier_z_bits: wi,
    figures: 'measured',
  };
  say(`constraints: ${out.constraints_per_mac.toFixed(3)} per MAC, ${out.commitment_constraints_per_weight.toFixed(2)} per committed weight, ${out.constraints_per_relu} per ReLU (W = ${w1}), ${out.constraints_per_relu_big_multiplier} with M ≈ 2^30 (W = ${wi})`);
  if (o.countsOnly) return out;

  try {
    say(`MLP 784-56-10, one sample, private weights, chunks fitting 2^${power}`);
    const ptau = await ensurePtau(power, { cacheDir, ...(o.method ? { method: o.method } : {}), onProgress: (l) => say(`${l}${power >= 12 ? ' [first run only]' : ''}`) });
    let setupS = ptau.generatedS;
    const perLayer: Groth16MlpFigures['per_layer'] = [];
    let input = x;
    let constraints = 0;
    let witnessMs = 0;
    let proveMs = 0;
    let chunks = 0;
    let circuits = 0;
    let match = true;
    for (const [i, l] of layers.entries()) {
      const plan = planLayer(l, { batch: 1, weights: 'private', power });
      say(`layer ${i + 1}: ${plan.length} chunks of ≤ ${plan[0]!.rows} rows × ${plan[0]!.cols} columns (proving keys are made once per distinct circuit)`);
      const t0 = performance.now();
      const p = await proveLayer(l, input, 1, {
        weights: 'private', power, cacheDir, ...(o.method ? { method: o.method } : {}),
        onProgress: (line) => say(`  ${line}`),
      });
      say(`layer ${i + 1}: ${p.chunks.length} chunks proved, ${p.constraints} constraints, witness ${(p.witnessMs / 1000).toFixed(1)} s + prove ${(p.proveMs / 1000).toFixed(1)} s (${((performance.now() - t0) / 1000).toFixed(0)} s with setup)`);
      setupS += p.setupS;
      constraints += p.constraints;
      witnessMs += p.witnessMs;
      proveMs += p.proveMs;
      chunks += p.chunks.length;
      circuits += new Set(p.plan.map((s) => `${s.rows}x${s.cols}:${s.colStart === 0}:${s.mode}`)).size;
      perLayer.push({ chunks: p.chunks.length, constraints: p.constraints, rows_per_chunk: plan[0]!.rows, cols_per_chunk: plan[0]!.cols, prove_s: (p.witnessMs + p.proveMs) / 1000 });
      const acc = denseForward(l, input, 1);
      const want = expectedOutputs(l, acc);
      match &&= want.every((v, k) => v === p.outputs[k]);
      input = Int8Array.from(p.outputs);
    }
    const proveS = (witnessMs + proveMs) / 1000;
    out.mlp = {
      shape: [784, 56, 10], power, chunks, circuits, constraints, macs: l1.inputs * l1.outputs + l2.inputs * l2.outputs,
      witness_s: witnessMs / 1000, prove_s: proveMs / 1000, per_layer: perLayer, outputs_match: match,
    };
    out.mlp_784_56_10_prove_s = proveS;
    out.prove_constraints_per_s = constraints / proveS;
    out.setup_s = setupS;
    if (ptau.generatedS > 0) out.ptau_s = ptau.generatedS;
    say(`MLP proved: ${proveS.toFixed(1)} s for ${constraints} constraints in ${chunks} proofs (${Math.round(constraints / proveS)} constraints/s); setup ${setupS.toFixed(0)} s`);
    return out;
  } finally {
    await releaseCurve();
  }
}
