/**
 * Inference claims and their verification: the node's side of proof of inference.
 *
 * A claim states, for a registered model (by hash), a batch of int8 inputs and every layer's
 * int32 accumulators; the last layer's are the logits. It is bound to the agent (its wallet)
 * and the session (the query it answers, issued by the node): its digest covers all of it,
 * domain-tagged and length-prefixed, so it cannot be replayed for another agent, session, input
 * or model, and the same claim is paid once (the verifier remembers accepted digests).
 *
 * Checking: each layer's accumulators by Freivalds' check (freivalds.ts), the next layer's
 * inputs derived by the verifier itself from the claimed accumulators (requantisation, exact), so
 * the claim never states a value the verifier takes on trust. Repetitions are chosen so that a
 * false claim is accepted with probability ≤ 2^-soundnessBits (union bound over the layers).
 *
 * Vectors are kept between claims (`reuseVectors`, the default): a layer's u = rᵀ·W is the m·n
 * part of the check, and recomputing it per claim would cost as much as the rest together. It is
 * sound because an honest claim passes for every r and so tells the prover nothing about r; the
 * only event that does is a rejection, and at the first one the model's vectors are thrown away
 * and drawn afresh. So until a false claim is accepted (probability ≤ 2^-40 per claim), each
 * false claim meets a vector independent of everything its prover has seen. One accepted false
 * claim does tell its prover an error pattern d with rᵀd = 0, which would pass again with the
 * same vector: so vectors are also redrawn every `vectorClaims` claims (default 1,000), which
 * bounds what that one-in-2^40 event can be worth.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, MaxwellError } from '../errors.js';
import { cryptoFieldRandom, SOUNDNESS_BITS, type FieldRandom } from './field.js';
import { freivaldsCheck, freivaldsVector, type FreivaldsVector } from './freivalds.js';
import { checkModel, modelHash, requantise, type Model } from './model.js';

export interface InferenceClaim {
  modelHash: Buffer;
  /** The agent's wallet (32 bytes): who is paid. */
  agent: Buffer;
  /** The session (the query the claim answers), 8–64 bytes. */
  session: Buffer;
  batch: number;
  /** inputs × batch, column k = sample k. */
  input: Int8Array;
  /** Per layer, outputs × batch. */
  accumulators: Int32Array[];
}

/** Limits: the largest batch and the most numbers (inputs + accumulators) in one claim. */
export const MAX_BATCH = 4_096;
export const MAX_CLAIM_VALUES = 16 * 2 ** 20;
/** The default bound on accepting a false claim: 2^-40. */
export const DEFAULT_SOUNDNESS_BITS = 40;

/** The claim's identity: SHA-256 over a domain tag and every field, length-prefixed. */
export function claimDigest(c: InferenceClaim): Buffer {
  const h = createHash('sha256').update('maxwell-claim-v1\0');
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); h.update(b); };
  const bytes = (b: Buffer | Int8Array | Int32Array) => {
    u32(b.byteLength);
    h.update(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  };
  bytes(c.modelHash);
  bytes(c.agent);
  bytes(c.session);
  u32(c.batch);
  bytes(c.input);
  u32(c.accumulators.length);
  for (const a of c.accumulators) bytes(littleEndian(a));
  return h.digest();
}

/** Int32Array bytes are in the host's order: fixed as little-endian, so digests agree everywhere. */
const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function littleEndian(a: Int32Array): Int32Array {
  if (HOST_LE) return a;
  const b = Buffer.alloc(a.byteLength);
  a.forEach((v, i) => b.writeInt32LE(v, i * 4));
  return new Int32Array(b.buffer, b.byteOffset, a.length);
}

export interface Verified {
  digest: Buffer;
  model: Model;
  /** The last layer's accumulators (classes × batch), verified. */
  logits: Int32Array;
  batch: number;
  /** −log2 of the bound on having accepted a false claim. */
  soundnessBits: number;
  repetitions: number;
}

/**
 * The node's verifier: registered models, and the digests of the claims it has accepted (the
 * most recent `rememberClaims`; a session must expire before its claims could be forgotten).
 */
export class ClaimVerifier {
  private readonly models = new Map<string, Model>();
  private readonly accepted = new Set<string>();
  private readonly random: FieldRandom;
  private readonly soundnessBits: number;
  private readonly rememberClaims: number;
  private readonly reuseVectors: boolean;
  private readonly vectorClaims: number;
  /** Per model (hash hex): per layer, one vector per repetition, and the claims checked with them. */
  private readonly vectors = new Map<string, { layers: FreivaldsVector[][]; claims: number }>();

  constructor(o: { random?: FieldRandom; soundnessBits?: number; rememberClaims?: number; reuseVectors?: boolean; vectorClaims?: number } = {}) {
    this.random = o.random ?? cryptoFieldRandom();
    this.reuseVectors = o.reuseVectors ?? true;
    this.vectorClaims = o.vectorClaims ?? 1_000;
    if (!(Number.isInteger(this.vectorClaims) && this.vectorClaims >= 1)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `vectorClaims must be a positive integer, not ${o.vectorClaims}`);
    this.soundnessBits = o.soundnessBits ?? DEFAULT_SOUNDNESS_BITS;
    this.rememberClaims = o.rememberClaims ?? 1_000_000;
    if (!(this.soundnessBits >= 1 && this.soundnessBits <= 256)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `soundnessBits must be in [1, 256], not ${o.soundnessBits}`);
  }

  /** Registers a model; returns its hash (hex). */
  register(m: Model): string {
    const h = modelHash(m).toString('hex'); // checks the model
    this.models.set(h, m);
    return h;
  }

  model(hashHex: string): Model | undefined {
    return this.models.get(hashHex);
  }

  /** The registered models by hash (hex). */
  registered(): IterableIterator<[string, Model]> {
    return this.models.entries();
  }

  /** Freivalds repetitions per layer for the bound over `layers` layers (union bound). */
  repetitionsFor(layers: number): number {
    return Math.ceil((this.soundnessBits + Math.log2(layers)) / SOUNDNESS_BITS);
  }

  /**
   * Verifies a claim submitted by `expected.agent` for `expected.session`. Throws with a stable
   * code: E_MODEL_UNKNOWN, E_CLAIM_INVALID (shape, limits, bound to someone else),
   * E_CLAIM_REPLAYED, E_PROOF_INVALID (the outputs are wrong). Accepted claims are remembered.
   */
  verify(c: InferenceClaim, expected: { agent: Buffer; session: Buffer }): Verified {
    const invalid = (why: string) => new MaxwellError(ErrorCode.CLAIM_INVALID, why);
    if (!Buffer.isBuffer(c.modelHash) || c.modelHash.length !== 32) throw invalid('modelHash must be 32 bytes');
    const model = this.models.get(c.modelHash.toString('hex'));
    if (model === undefined) throw new MaxwellError(ErrorCode.MODEL_UNKNOWN, `no model ${c.modelHash.toString('hex')} is registered on this node`);
    if (!Buffer.isBuffer(c.agent) || !c.agent.equals(expected.agent)) throw invalid('the claim is bound to another agent');
    if (!Buffer.isBuffer(c.session) || c.session.length < 8 || c.session.length > 64) throw invalid('a session is 8–64 bytes');
    if (!c.session.equals(expected.session)) throw invalid('the claim is bound to another session');
    if (!Number.isInteger(c.batch) || c.batch < 1 || c.batch > MAX_BATCH) throw invalid(`a batch is 1–${MAX_BATCH} samples, not ${c.batch}`);
    const layers = model.layers;
    if (!(c.input instanceof Int8Array) || c.input.length !== layers[0]!.inputs * c.batch) throw invalid(`the input must be an Int8Array of ${layers[0]!.inputs} × ${c.batch}`);
    if (!Array.isArray(c.accumulators) || c.accumulators.length !== layers.length) throw invalid(`the claim must state ${layers.length} layers of accumulators`);
    let values = c.input.length;
    layers.forEach((l, i) => {
      const a = c.accumulators[i];
      if (!(a instanceof Int32Array) || a.length !== l.outputs * c.batch) throw invalid(`layer ${i}'s accumulators must be an Int32Array of ${l.outputs} × ${c.batch}`);
      values += a.length;
    });
    if (values > MAX_CLAIM_VALUES) throw invalid(`the claim holds ${values} numbers; the limit is ${MAX_CLAIM_VALUES}`);
    const digest = claimDigest(c);
    const key = digest.toString('hex');
    if (this.accepted.has(key)) throw new MaxwellError(ErrorCode.CLAIM_REPLAYED, `claim ${key} was already accepted`);

    const reps = this.repetitionsFor(layers.length);
    const hashHex = c.modelHash.toString('hex');
    let kept = this.reuseVectors ? this.vectors.get(hashHex) : undefined;
    if (kept === undefined || kept.claims >= this.vectorClaims) {
      kept = { layers: layers.map((l) => Array.from({ length: reps }, () => freivaldsVector(l, this.random))), claims: 0 };
      if (this.reuseVectors) this.vectors.set(hashHex, kept);
    }
    kept.claims++;
    const vectors = kept.layers;
    let x = c.input;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i]!;
      const acc = c.accumulators[i]!;
      if (!vectors[i]!.every((v) => freivaldsCheck(l, x, acc, c.batch, v))) {
        // The prover has learnt something about these vectors: the next claim meets new ones.
        this.vectors.delete(hashHex);
        throw new MaxwellError(ErrorCode.PROOF_INVALID, `layer ${i}'s accumulators are not what the model computes on its inputs`);
      }
      if (l.requant) {
        const next = new Int8Array(acc.length);
        for (let j = 0; j < acc.length; j++) next[j] = requantise(acc[j]!, l.requant);
        x = next;
      }
    }
    this.accepted.add(key);
    if (this.accepted.size > this.rememberClaims) this.accepted.delete(this.accepted.values().next().value!);
    return {
      digest, model, logits: c.accumulators[layers.length - 1]!, batch: c.batch, repetitions: reps,
      soundnessBits: reps * SOUNDNESS_BITS - Math.log2(layers.length),
    };
  }
}
