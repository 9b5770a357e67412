/**
 * Groth16 proofs of a whole model's inference, and their file (`maxwell-groth16-v1`), for
 * `maxwell prove --groth16` and `maxwell verify`.
 *
 * A bundle states the input, every layer's outputs (a hidden layer's activations, the last
 * layer's logits), and for every chunk of every layer (prover.ts's plan) a 128-byte proof and,
 * for a chunk that stops short of the layer's last column, the partial sums it hands on. The
 * verifier re-plans the chunks from the model itself, builds every public signal from what it
 * holds (the input, the stated outputs range-checked, the commitments of its own copy of the
 * weights, each chunk's partial sums fed to the next), and checks each proof with a cached curve
 * (verifier.ts). Nothing in the bundle chooses a circuit, a key or a commitment.
 *
 * Keys: a development setup differs per machine (setup.ts). By default the verifier uses its own
 * cache's keys (E_SETUP_MISSING if it has none); `keysFromBundle` trusts the keys the bundle
 * carries, which is trusting the prover's setup: for development only.
 *
 * What a bundle does not bind: who made it. Unlike a claim (claim.ts) it names no agent or
 * session; the node pays for claims, not bundles (docs/proof.md).
 */
import { ErrorCode, MaxwellError } from '../../errors.js';
import { checkModel, modelHash, type Model } from '../model.js';
import { compileCircuit, planLayer, type ChunkSpec, type WeightsMode } from './circuit.js';
import { encodeProof, PROOF_BYTES } from './encoding.js';
import { chunkCommitment, expectedOutputs, proveLayer, publicSignalsFor } from './prover.js';
import { DEFAULT_CACHE_DIR, ensureCircuitSetup, releaseCurve, type Progress } from './setup.js';
import { parseVerificationKey, type Groth16Verifier } from './verifier.js';
import { denseForward } from '../model.js';

export const GROTH16_FORMAT = 'maxwell-groth16-v1';
/** Limits on a bundle: chunks in all, and partial sums per chunk. */
export const MAX_BUNDLE_CHUNKS = 4_096;
export const MAX_PARTIALS = 1 << 16;

export interface ChunkProofFile {
  /** The 128-byte proof, base64. */
  proof: string;
  /** The key it was made with (verifier.ts's id), to say so when a verifier's differs. */
  vk_id: string;
  /** Partial sums handed to the next chunk of the same rows (decimal strings), if any. */
  partial?: string[];
}

export interface Groth16Bundle {
  format: typeof GROTH16_FORMAT;
  model_hash: string;
  weights: WeightsMode;
  power: number;
  batch: number;
  /** inputs × batch, int8, column k = sample k. */
  input: number[];
  layers: { outputs: number[]; chunks: ChunkProofFile[] }[];
  /** Every distinct verification key, by id (used only with keysFromBundle). */
  keys: Record<string, unknown>;
  /** Measured when it was made. */
  prove_s: number;
  constraints: number;
}

export interface ProveModelOptions {
  weights?: WeightsMode;
  /** Every chunk fits a setup of 2^power (default 12). */
  power?: number;
  cacheDir?: string;
  /** Make a missing setup (default true). */
  generate?: boolean;
  onProgress?: Progress;
}

/** Proves every layer of `model` on x (inputs × batch): a bundle. Makes the setup it lacks (cached). */
export async function proveModel(model: Model, x: Int8Array, batch: number, o: ProveModelOptions = {}): Promise<Groth16Bundle> {
  checkModel(model);
  const weights = o.weights ?? 'private';
  const power = o.power ?? 12;
  const cacheDir = o.cacheDir ?? DEFAULT_CACHE_DIR;
  const keys: Record<string, unknown> = {};
  const layers: Groth16Bundle['layers'] = [];
  let input = x;
  let proveS = 0;
  let constraints = 0;
  try {
    for (const [i, l] of model.layers.entries()) {
      o.onProgress?.(`layer ${i + 1} of ${model.layers.length} (${l.inputs} → ${l.outputs}, batch ${batch})`);
      const p = await proveLayer(l, input, batch, { weights, power, cacheDir, ...(o.generate === false ? { generate: false } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
      const chunks: ChunkProofFile[] = [];
      for (const c of p.chunks) {
        const setup = await ensureCircuitSetup(await compileCircuit(c.spec, { cacheDir }), { cacheDir, power, generate: false });
        const vk = parseVerificationKey(setup.vkey);
        keys[vk.id] = setup.vkey;
        const last = c.spec.colStart + c.spec.cols === l.inputs;
        chunks.push({
          proof: Buffer.from(encodeProof(c.proof)).toString('base64'), vk_id: vk.id,
          ...(last ? {} : { partial: c.outputs.map(String) }),
        });
      }
      proveS += (p.witnessMs + p.proveMs) / 1000;
      constraints += p.constraints;
      layers.push({ outputs: Array.from(p.outputs), chunks });
      input = Int8Array.from(p.outputs);
    }
  } finally {
    await releaseCurve();
  }
  return { format: GROTH16_FORMAT, model_hash: modelHash(model).toString('hex'), weights, power, batch, input: Array.from(x), layers, keys, prove_s: proveS, constraints };
}

export interface VerifyModelOptions {
  verifier: Groth16Verifier;
  cacheDir?: string;
  /** Trust the keys the bundle carries instead of this machine's setup (development only). */
  keysFromBundle?: boolean;
}

export interface ModelProofResult {
  /** The last layer's outputs (classes × batch), verified. */
  logits: Int32Array;
  batch: number;
  proofs: number;
  verifyMs: number;
  /** Of which in the pairing checks themselves (the rest: planning, commitments, keys, signals). */
  groth16Ms: number;
}

const bad = (why: string) => new MaxwellError(ErrorCode.PROOF_MALFORMED, why);

/**
 * Checks a bundle against the model (which the verifier holds): every chunk's proof, with public
 * signals the verifier builds itself. Throws E_MODEL_UNKNOWN (another model), E_PROOF_MALFORMED
 * (the bundle's shape), E_VKEY_INVALID (a key this machine does not have or does not match),
 * E_SETUP_MISSING, E_BAD_ARGUMENT (an output out of range) or E_PROOF_INVALID (a proof that
 * does not verify, naming the layer and chunk).
 */
export async function verifyModelProof(model: Model, j: unknown, o: VerifyModelOptions): Promise<ModelProofResult> {
  const t0 = performance.now();
  const b = parseBundle(j);
  checkModel(model);
  if (b.model_hash !== modelHash(model).toString('hex')) throw new MaxwellError(ErrorCode.MODEL_UNKNOWN, `the bundle is for model ${b.model_hash}, not this one (${modelHash(model).toString('hex')})`);
  if (b.layers.length !== model.layers.length) throw bad(`the bundle states ${b.layers.length} layers; the model has ${model.layers.length}`);
  const cacheDir = o.cacheDir ?? DEFAULT_CACHE_DIR;
  const batch = b.batch;
  if (b.input.length !== model.layers[0]!.inputs * batch) throw bad(`the input must hold ${model.layers[0]!.inputs} × ${batch} values`);
  let x: ArrayLike<number> = b.input;
  let proofs = 0;
  let groth16Ms = 0;
  const prepared = new Map<string, ReturnType<Groth16Verifier['prepare']>>();
  for (const [li, l] of model.layers.entries()) {
    const stated = b.layers[li]!;
    if (stated.outputs.length !== l.outputs * batch) throw bad(`layer ${li}: the outputs must hold ${l.outputs} × ${batch} values`);
    // An activation outside the requantisation's range is one the model cannot produce (and the
    // next layer's circuit takes int8 inputs): refused before any proof is checked.
    const r = l.requant;
    if (r !== undefined) {
      const k = stated.outputs.findIndex((v) => v < r.lo || v > r.hi);
      if (k >= 0) throw new MaxwellError(ErrorCode.PROOF_INVALID, `layer ${li} states an activation of ${stated.outputs[k]} (output ${k}), outside the layer's range [${r.lo}, ${r.hi}]`);
    }
    let plan: ChunkSpec[];
    try {
      plan = planLayer(l, { batch, weights: b.weights, power: b.power });
    } catch (err) {
      throw bad(`layer ${li}: ${(err as Error).message}`);
    }
    if (stated.chunks.length !== plan.length) throw bad(`layer ${li}: ${stated.chunks.length} chunk proofs, but the model's plan has ${plan.length} chunks at 2^${b.power}`);
    let accIn: string[] | undefined;
    for (const [ci, s] of plan.entries()) {
      const c = stated.chunks[ci]!;
      const last = s.colStart + s.cols === l.inputs;
      let outputs: ArrayLike<number | bigint | string>;
      if (last) {
        outputs = Array.from({ length: s.rows * batch }, (_, k) => stated.outputs[(s.rowStart + Math.floor(k / batch)) * batch + (k % batch)]!);
      } else {
        if (c.partial === undefined || c.partial.length !== s.rows * batch) throw bad(`layer ${li} chunk ${ci}: it must state ${s.rows * batch} partial sums`);
        outputs = c.partial;
      }
      const signals = publicSignalsFor(s, {
        x, outputs: Array.from(outputs, (v) => BigInt(v)),
        ...(b.weights === 'private' ? { commitment: chunkCommitment(l, s) } : {}),
        ...(s.colStart > 0 ? { accIn: (accIn ?? []).map((v) => BigInt(v)) } : {}),
      });
      accIn = last ? undefined : c.partial;
      let vkJson: unknown;
      if (o.keysFromBundle) {
        vkJson = b.keys[c.vk_id];
        if (vkJson === undefined) throw new MaxwellError(ErrorCode.VKEY_INVALID, `layer ${li} chunk ${ci}: the bundle does not carry key ${c.vk_id}`);
      } else {
        const setup = await ensureCircuitSetup(await compileCircuit(s, { cacheDir }), { cacheDir, power: b.power, generate: false });
        vkJson = setup.vkey;
      }
      let key = prepared.get(JSON.stringify(vkJson));
      if (key === undefined) {
        key = o.verifier.prepare(vkJson);
        prepared.set(JSON.stringify(vkJson), key);
      }
      if (key.id !== c.vk_id && !o.keysFromBundle) {
        throw new MaxwellError(ErrorCode.VKEY_INVALID, `layer ${li} chunk ${ci}: the proof was made with key ${c.vk_id.slice(0, 16)}…, and this machine's setup has ${key.id.slice(0, 16)}… (another setup: verify where it was made, or with --keys-from-bundle to trust the prover's)`);
      }
      const bytes = Buffer.from(c.proof, 'base64');
      if (bytes.length !== PROOF_BYTES || bytes.toString('base64') !== c.proof) throw bad(`layer ${li} chunk ${ci}: a proof is ${PROOF_BYTES} bytes of base64`);
      const tv = performance.now();
      const ok = await o.verifier.verify(key, signals, new Uint8Array(bytes));
      groth16Ms += performance.now() - tv;
      if (!ok) {
        throw new MaxwellError(ErrorCode.PROOF_INVALID, `layer ${li} chunk ${ci} (rows ${s.rowStart}–${s.rowStart + s.rows - 1}, columns ${s.colStart}–${s.colStart + s.cols - 1}): the proof does not verify for these outputs`);
      }
      proofs++;
    }
    x = stated.outputs;
  }
  return { logits: Int32Array.from(b.layers[b.layers.length - 1]!.outputs), batch, proofs, verifyMs: performance.now() - t0, groth16Ms };
}

/** The outputs a bundle must state for `model` on x: what model.ts computes (for tests and the CLI's check). */
export function modelOutputs(model: Model, x: Int8Array, batch: number): Int32Array[] {
  const out: Int32Array[] = [];
  let input = x;
  for (const l of model.layers) {
    const o = expectedOutputs(l, denseForward(l, input, batch));
    out.push(o);
    input = Int8Array.from(o);
  }
  return out;
}

function parseBundle(j: unknown): Groth16Bundle {
  const o = j as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o['format'] !== GROTH16_FORMAT) throw bad(`not a Groth16 bundle (format must be "${GROTH16_FORMAT}")`);
  const int = (v: unknown, what: string, lo: number, hi: number) => {
    if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi) throw bad(`${what} must be an integer in [${lo}, ${hi}]`);
    return v as number;
  };
  const ints = (v: unknown, what: string, lo: number, hi: number, max: number): number[] => {
    if (!Array.isArray(v) || v.length > max) throw bad(`${what} must be a list of at most ${max} integers`);
    v.forEach((e, i) => int(e, `${what}[${i}]`, lo, hi));
    return v as number[];
  };
  if (typeof o['model_hash'] !== 'string' || !/^[0-9a-f]{64}$/.test(o['model_hash'])) throw bad('model_hash must be 64 hex digits');
  if (o['weights'] !== 'private' && o['weights'] !== 'public') throw bad('weights must be "private" or "public"');
  const power = int(o['power'], 'power', 4, 18);
  const batch = int(o['batch'], 'batch', 1, 256);
  const layers = o['layers'];
  if (!Array.isArray(layers) || layers.length === 0 || layers.length > 16) throw bad('layers must be a list of 1–16');
  let chunks = 0;
  const parsed = layers.map((l: unknown, i: number) => {
    const lo = l as Record<string, unknown>;
    if (typeof lo !== 'object' || lo === null) throw bad(`layers[${i}] must be an object`);
    const outputs = ints(lo['outputs'], `layers[${i}].outputs`, -(2 ** 31), 2 ** 31 - 1, 1 << 22);
    const cs = lo['chunks'];
    if (!Array.isArray(cs)) throw bad(`layers[${i}].chunks must be a list`);
    chunks += cs.length;
    if (chunks > MAX_BUNDLE_CHUNKS) throw bad(`a bundle holds at most ${MAX_BUNDLE_CHUNKS} chunk proofs`);
    return {
      outputs,
      chunks: cs.map((c: unknown, k: number) => {
        const co = c as Record<string, unknown>;
        if (typeof co !== 'object' || co === null || typeof co['proof'] !== 'string' || typeof co['vk_id'] !== 'string' || co['proof'].length > 4 * PROOF_BYTES) {
          throw bad(`layers[${i}].chunks[${k}] must hold a proof and a vk_id`);
        }
        const partial = co['partial'];
        if (partial !== undefined && (!Array.isArray(partial) || partial.length > MAX_PARTIALS || !partial.every((p) => typeof p === 'string' && /^-?\d{1,80}$/.test(p)))) {
          throw bad(`layers[${i}].chunks[${k}].partial must be a list of decimal integers`);
        }
        return { proof: co['proof'], vk_id: co['vk_id'], ...(partial === undefined ? {} : { partial: partial as string[] }) };
      }),
    };
  });
  const keys = o['keys'];
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw bad('keys must be an object');
  return {
    format: GROTH16_FORMAT, model_hash: o['model_hash'], weights: o['weights'], power, batch,
    input: ints(o['input'], 'input', -128, 127, 1 << 22), layers: parsed, keys: keys as Record<string, unknown>,
    prove_s: typeof o['prove_s'] === 'number' ? o['prove_s'] : 0, constraints: typeof o['constraints'] === 'number' ? o['constraints'] : 0,
  };
}
