/**
 * Proving a dense layer with Groth16, chunk by chunk (circuit.ts plans and compiles the chunks,
 * setup.ts makes their keys), and what a verifier needs to check such proofs without the prover:
 * the public signals it must build from its own data (`publicSignalsFor`) and the commitments of
 * a layer's weights (`layerCommitments`). The verification itself is verifier.ts's (or snarkjs's).
 */
import * as snarkjs from 'snarkjs';
import { ErrorCode, MaxwellError } from '../../errors.js';
import { assert } from '../../assert.js';
import { requantise, type DenseLayer } from '../model.js';
import { checkLayer, compileCircuit, planLayer, zBitsFor, type ChunkSpec, type CompiledCircuit, type WeightsMode } from './circuit.js';
import { commitChunk } from './commitment.js';
import { FIELD_P } from './poseidon.js';
import { ensureCircuitSetup, type CircuitSetup, type SetupOptions } from './setup.js';

const badArg = (why: string) => new MaxwellError(ErrorCode.BAD_ARGUMENT, why);

/** A field element (snarkjs's decimal string) as the signed integer it encodes (|v| < p/2). */
export function fieldToInt(v: string | bigint): bigint {
  const b = BigInt(v);
  return b > FIELD_P / 2n ? b - FIELD_P : b;
}

export function intToField(v: bigint | number): string {
  const b = BigInt(v) % FIELD_P;
  return (b < 0n ? b + FIELD_P : b).toString();
}

/** The chunk's weights (rows × cols, row-major) and bias (if it holds column 0). */
export function chunkParams(l: DenseLayer, s: ChunkSpec): { weights: Int8Array; bias?: Int32Array } {
  const w = new Int8Array(s.rows * s.cols);
  for (let i = 0; i < s.rows; i++) {
    const at = (s.rowStart + i) * l.inputs + s.colStart;
    w.set(l.weights.subarray(at, at + s.cols), i * s.cols);
  }
  return { weights: w, ...(s.colStart === 0 ? { bias: l.bias.slice(s.rowStart, s.rowStart + s.rows) } : {}) };
}

/** The commitment a private-weights chunk states: computed from the weights alone (commitment.ts). */
export function chunkCommitment(l: DenseLayer, s: ChunkSpec): bigint {
  const p = chunkParams(l, s);
  return commitChunk(s.rows, s.cols, p.weights, p.bias);
}

/** The commitments of a layer's chunks in plan order: the layer's identity to a verifier. */
export function layerCommitments(l: DenseLayer, plan: ChunkSpec[]): bigint[] {
  return plan.map((s) => chunkCommitment(l, s));
}

function checkInput(l: DenseLayer, x: Int8Array, batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw badArg(`a batch is a positive integer, not ${batch}`);
  if (!(x instanceof Int8Array)) throw badArg('the input must be an Int8Array (inputs × batch, column k = sample k)');
  if (x.length !== l.inputs * batch) throw badArg(`the input must hold inputs × batch = ${l.inputs}×${batch} = ${l.inputs * batch} values, not ${x.length}`);
}

/** The chunk's slice of the layer input, x[c0..c0+C) × batch, as circom's nested arrays. */
function chunkX(s: ChunkSpec, x: Int8Array): number[][] {
  return Array.from({ length: s.cols }, (_, j) => Array.from(x.subarray((s.colStart + j) * s.batch, (s.colStart + j + 1) * s.batch)));
}

/**
 * The public signals of a chunk's proof, built by the verifier from what it knows: the layer input
 * (int8, range-checked here: the circuit relies on it), the claimed outputs (activations, logits or
 * partial sums, R × B row-major), the commitment (private weights) and the partial sums the chunk
 * continues (chunks not holding column 0).
 */
export function publicSignalsFor(s: ChunkSpec, d: { x: ArrayLike<number>; outputs: ArrayLike<number | bigint>; commitment?: bigint; accIn?: ArrayLike<number | bigint> }): string[] {
  const B = s.batch;
  if (d.x.length !== s.layerInputs * B) throw badArg(`the input holds ${s.layerInputs}×${B} values, not ${d.x.length}`);
  for (let i = 0; i < d.x.length; i++) {
    const v = d.x[i]!;
    if (!Number.isInteger(v) || v < -128 || v > 127) throw badArg(`input ${i} is ${v}, not an int8`);
  }
  if (d.outputs.length !== s.rows * B) throw badArg(`a chunk of ${s.rows} rows × batch ${B} states ${s.rows * B} outputs, not ${d.outputs.length}`);
  const out: string[] = Array.from(d.outputs, (v) => intToField(v));
  if (s.weights === 'private') {
    if (d.commitment === undefined) throw badArg('a private-weights chunk states its commitment');
    out.push(intToField(d.commitment));
  }
  if (s.colStart > 0) {
    if (d.accIn === undefined || d.accIn.length !== s.rows * B) throw badArg(`a chunk continuing partial sums takes ${s.rows * B} of them`);
    for (const v of Array.from(d.accIn)) out.push(intToField(v));
  }
  for (let j = 0; j < s.cols; j++) for (let k = 0; k < B; k++) out.push(intToField(d.x[(s.colStart + j) * B + k]!));
  return out;
}

/** Reads the first `count` values of a .wtns buffer (section 2) as field elements: 1, then the public outputs, then the public inputs. */
export function readWitness(buf: Uint8Array, count: number): bigint[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  assert(b.toString('latin1', 0, 4) === 'wtns', 'snarkjs wrote a wtns buffer');
  const sections = b.readUInt32LE(8);
  let at = 12;
  let n8 = 32;
  for (let i = 0; i < sections; i++) {
    const id = b.readUInt32LE(at);
    const size = Number(b.readBigUInt64LE(at + 4));
    if (id === 1) n8 = b.readUInt32LE(at + 12);
    if (id === 2) {
      const out: bigint[] = [];
      for (let w = 0; w < count; w++) {
        let v = 0n;
        for (let k = n8 - 1; k >= 0; k--) v = (v << 8n) + BigInt(b[at + 12 + w * n8 + k]!);
        out.push(v);
      }
      return out;
    }
    at += 12 + size;
  }
  assert(false, 'a wtns buffer has a witness section');
}

export interface ChunkWitness {
  /** The .wtns bytes (snarkjs's in-memory file). */
  wtns: { type: 'mem'; data?: Uint8Array };
  /** The chunk's outputs (R × B, row-major): activations, logits or partial sums. */
  outputs: bigint[];
  commitment?: bigint;
  witnessMs: number;
}

/** The circuit's input object for a chunk (circom's signal names, nested arrays). */
export function chunkInput(l: DenseLayer, s: ChunkSpec, x: Int8Array, accIn?: ArrayLike<number | bigint>): Record<string, unknown> {
  const input: Record<string, unknown> = { x: chunkX(s, x) };
  if (s.weights === 'private') {
    const p = chunkParams(l, s);
    input.w = Array.from({ length: s.rows }, (_, i) => Array.from(p.weights.subarray(i * s.cols, (i + 1) * s.cols)));
    if (p.bias) input.b = Array.from(p.bias);
  }
  if (s.colStart > 0) {
    if (accIn === undefined || accIn.length !== s.rows * s.batch) throw badArg(`a chunk continuing partial sums takes ${s.rows * s.batch} of them`);
    input.accIn = Array.from({ length: s.rows }, (_, i) => Array.from({ length: s.batch }, (_, k) => BigInt(accIn[i * s.batch + k]!).toString()));
  }
  return input;
}

function checkChunkFits(l: DenseLayer, s: ChunkSpec): void {
  checkLayer(l);
  if (l.inputs !== s.layerInputs || l.outputs !== s.layerOutputs) throw new MaxwellError(ErrorCode.MODEL_INVALID, `the circuit is for a ${s.layerOutputs}×${s.layerInputs} layer, not ${l.outputs}×${l.inputs}`);
  if ((s.mode === 'requant') !== (l.requant !== undefined && s.colStart + s.cols === l.inputs)) throw new MaxwellError(ErrorCode.MODEL_INVALID, 'the circuit and the layer disagree on requantisation');
  if (s.mode === 'requant') {
    const r = l.requant!;
    const q = s.requant!;
    if (r.multiplier !== q.multiplier || r.shift !== q.shift || r.lo !== q.lo || r.hi !== q.hi) throw new MaxwellError(ErrorCode.MODEL_INVALID, "the layer's requantisation is not the circuit's");
    if (zBitsFor(l) > s.zBits!) throw new MaxwellError(ErrorCode.MODEL_INVALID, `the layer's accumulators need ${zBitsFor(l)} bits in the rescale, the circuit has ${s.zBits}`);
  }
  if (s.weights === 'public') {
    const p = chunkParams(l, s);
    const k = s.constants!;
    const same = p.weights.every((v, i) => v === k.weights[i]) && (p.bias === undefined || p.bias.every((v, i) => v === k.bias![i]));
    if (!same) throw new MaxwellError(ErrorCode.MODEL_INVALID, "a public-weights circuit proves only its own weights, and these are not the circuit's");
  }
}

/** Computes a chunk's witness (the circuit's own witness calculator; it throws if a constraint fails). */
export async function chunkWitness(c: CompiledCircuit, l: DenseLayer, s: ChunkSpec, x: Int8Array, accIn?: ArrayLike<number | bigint>): Promise<ChunkWitness> {
  checkChunkFits(l, s);
  checkInput(l, x, s.batch);
  const t0 = performance.now();
  const wtns: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  await snarkjs.wtns.calculate(chunkInput(l, s, x, accIn), c.wasmPath, wtns);
  const witnessMs = performance.now() - t0;
  assert(wtns.data !== undefined, 'snarkjs filled the witness');
  const outs = s.rows * s.batch;
  const v = readWitness(wtns.data, 1 + outs + 1);
  return { wtns, outputs: v.slice(1, 1 + outs).map(fieldToInt), ...(s.weights === 'private' ? { commitment: v[1 + outs]! } : {}), witnessMs };
}

export interface ChunkProof {
  spec: ChunkSpec;
  proof: snarkjs.Groth16Proof;
  publicSignals: string[];
  outputs: bigint[];
  commitment?: bigint;
  witnessMs: number;
  proveMs: number;
  constraints: number;
}

/** Witness + Groth16 proof of one chunk. */
export async function proveChunk(c: CompiledCircuit, setup: CircuitSetup, l: DenseLayer, s: ChunkSpec, x: Int8Array, accIn?: ArrayLike<number | bigint>): Promise<ChunkProof> {
  const w = await chunkWitness(c, l, s, x, accIn);
  const t0 = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.prove(setup.zkeyPath, w.wtns);
  const proveMs = performance.now() - t0;
  return { spec: s, proof, publicSignals, outputs: w.outputs, ...(w.commitment !== undefined ? { commitment: w.commitment } : {}), witnessMs: w.witnessMs, proveMs, constraints: c.constraints };
}

export interface LayerProofOptions extends SetupOptions {
  weights: WeightsMode;
  /** Each chunk fits a setup of 2^power (default 12). */
  power?: number;
}

export interface LayerProof {
  plan: ChunkSpec[];
  chunks: ChunkProof[];
  /** The layer's outputs, outputs × batch: activations (requantising layers) or logits. */
  outputs: Int32Array;
  constraints: number;
  witnessMs: number;
  proveMs: number;
  /** Seconds spent making setups that were missing (compiles and keys), excluded from the above. */
  setupS: number;
}

/**
 * Proves `l` on a batch (x: inputs × batch, int8, column k = sample k): plans chunks for 2^power,
 * compiles and sets up each distinct circuit (cached), proves every chunk, threading partial sums
 * from each column chunk to the next. Every chunk uses the same powers of tau (2^power).
 */
export async function proveLayer(l: DenseLayer, x: Int8Array, batch: number, o: LayerProofOptions): Promise<LayerProof> {
  checkLayer(l);
  checkInput(l, x, batch);
  const power = o.power ?? 12;
  const plan = planLayer(l, { batch, weights: o.weights, power });
  const chunks: ChunkProof[] = [];
  const outputs = new Int32Array(l.outputs * batch);
  let setupS = 0;
  let partial: bigint[] | undefined;
  for (const s of plan) {
    const t0 = performance.now();
    const c = await compileCircuit(s, o);
    const setup = await ensureCircuitSetup(c, { ...o, power });
    setupS += (performance.now() - t0) / 1000;
    const p = await proveChunk(c, setup, l, s, x, s.colStart > 0 ? partial : undefined);
    chunks.push(p);
    partial = p.outputs;
    if (s.colStart + s.cols === l.inputs) {
      for (let i = 0; i < s.rows; i++) for (let k = 0; k < batch; k++) outputs[(s.rowStart + i) * batch + k] = Number(p.outputs[i * batch + k]!);
      partial = undefined;
    }
  }
  return {
    plan, chunks, outputs,
    constraints: chunks.reduce((a, c) => a + c.constraints, 0),
    witnessMs: chunks.reduce((a, c) => a + c.witnessMs, 0),
    proveMs: chunks.reduce((a, c) => a + c.proveMs, 0),
    setupS,
  };
}

/** What model.ts computes for a layer: activations (requantised) or accumulators, outputs × batch. */
export function expectedOutputs(l: DenseLayer, acc: Int32Array): Int32Array {
  const r = l.requant;
  return r ? Int32Array.from(acc, (a) => requantise(a, r)) : acc;
}
