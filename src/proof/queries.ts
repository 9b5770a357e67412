/**
 * Queries and rewards: the node's side of proof of useful work, as a pure core (the kernel
 * applies its decisions to the ledger; time, randomness and the verifier are passed in).
 *
 * Why queries: a valid inference is not necessarily a useful one. An agent could run its model
 * on inputs of its own choosing all day and every claim would verify. So the node pays only for
 * answers to queries a *requester* gave it, and the requester pays a fee of at least the most
 * those answers could earn (log2 C bits per sample at the reward rate). A requester colluding
 * with an agent to farm rewards therefore pays at least what the pair can get back: the ring
 * loses its energy and gains nothing. The fee and the reward both go through the treasury, whose
 * supply the mint bounds by the node's power budget (docs/ledger.md), so rewards never create
 * tokens the power cap did not back.
 *
 * The flow:
 *  1. `open`: a requester's samples for a model become queries, each with a session (16 random
 *     bytes, issued here) and a fee; the kernel debits the fee (a `query_fee` entry) and starts
 *     the process with the queries (`maxwell.query` hands them out).
 *  2. The process answers a query with `maxwell.claim` (session ‖ every layer's accumulators).
 *  3. `settle`: the claim is rebuilt around what the node holds (model, input, agent, session:
 *     nothing the agent says about them is taken), checked (claim.ts: Freivalds' check on every
 *     claim, or optimistic spot checks at a configurable rate), and its information gain is
 *     computed from the verified logits (infogain.ts). The reward is paid on whole milli-bits,
 *     rounded down. A session is answered once, right or wrong.
 */
import { randomBytes } from 'node:crypto';
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError, isMaxwellError } from '../errors.js';
import { MAX_CLAIM_BYTES, SESSION_BYTES } from '../runtime/abi.js';
import { MAX_PROCESS_QUERIES, MAX_QUERY_INPUT_BYTES, type ProcessQuery } from '../runtime/process.js';
import { ClaimVerifier, type InferenceClaim } from './claim.js';
import { batchInformationGainBits, milliBits } from './infogain.js';
import { runModel, type Model } from './model.js';
import { shouldSpotCheck } from './spotcheck.js';

export interface RewardConfig {
  /** The reward per verified bit of information gain, µJ of tokens. */
  rewardUjPerBit: number;
  /** The fee as a multiple of the most a query's answer can earn: ≥ 1, so farming never pays. */
  feeOverMaxReward: number;
  /**
   * How claims are checked: 'freivalds' checks every claim (≤ 2^-40 of accepting a false one);
   * 'spot' accepts claims optimistically and re-executes a fraction `spotRate` of them; a false
   * claim caught marks the process a cheater (the kernel kills it).
   */
  check: 'freivalds' | 'spot';
  spotRate: number;
}

export const DEFAULT_REWARD_CONFIG: RewardConfig = {
  rewardUjPerBit: 20,
  feeOverMaxReward: 1,
  check: 'freivalds',
  spotRate: 0.1,
};

/** Limits: queries open at once on the node, and samples per query. */
export const MAX_OPEN_QUERIES = 1_000_000;
export const MAX_QUERY_BATCH = 4_096;

export function checkRewardConfig(c: RewardConfig): void {
  const bad = (why: string) => new MaxwellError(ErrorCode.BAD_ARGUMENT, why);
  if (!(Number.isFinite(c.rewardUjPerBit) && c.rewardUjPerBit >= 0 && c.rewardUjPerBit <= 1e9)) throw bad(`the reward per bit must be in [0, 10^9] µJ, not ${c.rewardUjPerBit}`);
  if (!(Number.isFinite(c.feeOverMaxReward) && c.feeOverMaxReward >= 1 && c.feeOverMaxReward <= 1e6)) {
    throw bad(`the fee must be at least the most a query can earn (a multiple in [1, 10^6]), not ${c.feeOverMaxReward}: below 1, a requester and an agent together could farm the treasury`);
  }
  if (c.check !== 'freivalds' && c.check !== 'spot') throw bad(`claims are checked by 'freivalds' or 'spot', not ${String(c.check)}`);
  if (!(Number.isFinite(c.spotRate) && c.spotRate >= 0 && c.spotRate <= 1)) throw bad(`the spot-check rate is a fraction in [0, 1], not ${c.spotRate}`);
}

interface OpenQuery {
  pid: number;
  model: Model;
  modelHash: Buffer;
  batch: number;
  /** inputs × batch, column k = sample k (claim.ts's layout). */
  input: Int8Array;
}

/** What one process's claims have come to. */
export interface ProofStats {
  claims: number;
  accepted: number;
  rejected: number;
  /** Verified information gain, bits (sum over accepted samples). */
  bits: number;
  samples: number;
  rewardUj: number;
  /** Claims re-executed by a spot check. */
  spotChecked: number;
  /** The last rejection's code, if any. */
  lastRejection: string | null;
  /**
   * −log2 of the largest chance that any one accepted claim was false: the weakest bound among
   * them (≥ 40 under Freivalds' check; 0 once a claim was accepted unchecked under spot checks).
   * Infinity before the first accepted claim.
   */
  soundnessBits: number;
  cheater: boolean;
}

export type SettleOutcome =
  | { ok: true; bits: number; milliBits: number; rewardUj: number; samples: number; spotChecked: boolean; soundnessBits: number }
  | { ok: false; code: string; message: string; cheater: boolean };

export class QueryBook {
  private readonly verifier: ClaimVerifier;
  private readonly config: RewardConfig;
  private readonly draw: () => number;
  private readonly open = new Map<string, OpenQuery>();
  /** The open sessions (hex) of each process: closing a process touches only its own. */
  private readonly openByPid = new Map<number, Set<string>>();
  private readonly stats = new Map<number, ProofStats>();

  constructor(o: { verifier: ClaimVerifier; config?: RewardConfig; draw?: () => number }) {
    this.verifier = o.verifier;
    this.config = o.config ?? DEFAULT_REWARD_CONFIG;
    checkRewardConfig(this.config);
    // Which claims a spot check re-executes must be unpredictable to the prover: the OS's CSPRNG.
    this.draw = o.draw ?? (() => randomBytes(6).readUIntBE(0, 6) / 2 ** 48);
  }

  get rewardConfig(): RewardConfig {
    return this.config;
  }

  /** The models queries may name: hash (hex), name, inputs per sample, classes. */
  models(): { hash: string; name: string; inputs: number; classes: number }[] {
    return [...this.verifier.registered()].map(([hash, m]) => ({ hash, name: m.name, inputs: m.layers[0]!.inputs, classes: m.layers[m.layers.length - 1]!.outputs }));
  }

  /** The fee for queries of `samples` in all on a model of `classes` classes (µJ, rounded up). */
  feeUj(classes: number, samples: number): number {
    return Math.ceil(Math.log2(classes) * samples * this.config.rewardUjPerBit * this.config.feeOverMaxReward);
  }

  /**
   * Turns a requester's batches for a registered model (each batch × inputs int8, sample-major)
   * into queries, with fresh sessions; returns them and the fee to debit. The
   * caller debits the fee and then `commit`s them, or `drop`s them if it cannot.
   */
  prepare(modelHashHex: string, batches: readonly Int8Array[], batch: number): { queries: ProcessQuery[]; feeUj: number; samples: number } {
    const model = this.verifier.model(modelHashHex);
    if (model === undefined) throw new MaxwellError(ErrorCode.MODEL_UNKNOWN, `no model ${modelHashHex} is registered on this node`);
    const bad = (why: string) => new MaxwellError(ErrorCode.BAD_ARGUMENT, why);
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_QUERY_BATCH) throw bad(`a query's batch is 1–${MAX_QUERY_BATCH} samples, not ${batch}`);
    if (batches.length === 0) throw bad('no queries given');
    // The limits the process and the ABI will hold it to, checked before any work is done for it.
    if (batches.length > MAX_PROCESS_QUERIES) throw bad(`a process is given at most ${MAX_PROCESS_QUERIES} queries, not ${batches.length}`);
    if (this.open.size + batches.length > MAX_OPEN_QUERIES) throw bad(`the node holds ${this.open.size} open queries; the limit is ${MAX_OPEN_QUERIES}`);
    const inputs = model.layers[0]!.inputs;
    if (batches.length * batch * inputs > MAX_QUERY_INPUT_BYTES) throw bad(`the queries' inputs total ${batches.length * batch * inputs} bytes; the limit is ${MAX_QUERY_INPUT_BYTES}`);
    // An answer must fit one claim: a batch whose claim would pass MAX_CLAIM_BYTES could never be answered.
    const claimBytes = SESSION_BYTES + 4 * batch * model.layers.reduce((s, l) => s + l.outputs, 0);
    if (claimBytes > MAX_CLAIM_BYTES) throw bad(`an answer to a batch of ${batch} on this model is a claim of ${claimBytes} bytes, over the ${MAX_CLAIM_BYTES} a claim may be: use smaller batches`);
    const sessions = randomBytes(SESSION_BYTES * batches.length);
    const queries: ProcessQuery[] = batches.map((x, i) => {
      if (!(x instanceof Int8Array) || x.length !== batch * inputs) throw bad(`query ${i}: the input must be ${batch} × ${inputs} int8 values`);
      return { session: sessions.subarray(i * SESSION_BYTES, (i + 1) * SESSION_BYTES), batch, input: x };
    });
    const samples = batch * batches.length;
    return { queries, feeUj: this.feeUj(model.layers[model.layers.length - 1]!.outputs, samples), samples };
  }

  /** Opens prepared queries for `pid` (its fee paid). */
  commit(pid: number, modelHashHex: string, queries: readonly ProcessQuery[]): void {
    const model = this.verifier.model(modelHashHex);
    assert(model !== undefined, 'prepared queries name a registered model');
    const inputs = model.layers[0]!.inputs;
    const mine = this.openByPid.get(pid) ?? new Set<string>();
    this.openByPid.set(pid, mine);
    for (const q of queries) {
      const key = Buffer.from(q.session).toString('hex');
      assert(!this.open.has(key), 'sessions are fresh');
      this.open.set(key, { pid, model, modelHash: Buffer.from(modelHashHex, 'hex'), batch: q.batch, input: transpose8(q.input, q.batch, inputs) });
      mine.add(key);
    }
    if (!this.stats.has(pid)) this.stats.set(pid, emptyStats());
  }

  /** Forgets a process's open queries (it died: its unanswered queries earn nothing). Returns how many. */
  close(pid: number): number {
    const mine = this.openByPid.get(pid);
    if (mine === undefined) return 0;
    this.openByPid.delete(pid);
    let n = 0;
    for (const k of mine) if (this.open.delete(k)) n++;
    return n;
  }

  /** A reward the treasury could not pay after all: the process's figure shows what it was paid. */
  unpaid(pid: number, rewardUj: number): void {
    const st = this.stats.get(pid);
    if (st !== undefined) st.rewardUj -= Math.min(rewardUj, st.rewardUj);
  }

  statsOf(pid: number): ProofStats | undefined {
    return this.stats.get(pid);
  }

  forget(pid: number): void {
    this.stats.delete(pid);
  }

  /**
   * Settles one claim (abi.ts's layout: session ‖ every layer's int32 LE accumulators,
   * sample-major) made by process `pid` paying from `agent`. Never throws for a bad claim: the
   * outcome names the code.
   */
  settle(pid: number, agent: Buffer, blob: Uint8Array): SettleOutcome {
    const st = this.stats.get(pid) ?? emptyStats();
    this.stats.set(pid, st);
    st.claims++;
    const reject = (code: string, message: string, cheater = false): SettleOutcome => {
      st.rejected++;
      st.lastRejection = code;
      if (cheater) st.cheater = true;
      return { ok: false, code, message, cheater };
    };
    // A process caught lying is paid for nothing more (the kernel kills it).
    if (st.cheater) return reject(ErrorCode.PROOF_INVALID, 'this process was caught making a false claim', true);
    if (blob.length < SESSION_BYTES) return reject(ErrorCode.CLAIM_INVALID, 'a claim starts with its 16-byte session');
    const session = Buffer.from(blob.buffer, blob.byteOffset, SESSION_BYTES);
    const key = session.toString('hex');
    const q = this.open.get(key);
    if (q === undefined) return reject(ErrorCode.CLAIM_INVALID, `no open query has session ${key}`);
    if (q.pid !== pid) return reject(ErrorCode.CLAIM_INVALID, `session ${key} was given to another process`);
    // One answer per query, right or wrong: a wrong answer cannot be retried until it is right.
    this.open.delete(key);
    this.openByPid.get(pid)?.delete(key);
    const layers = q.model.layers;
    const expectBytes = SESSION_BYTES + layers.reduce((s, l) => s + l.outputs * q.batch * 4, 0);
    if (blob.length !== expectBytes) return reject(ErrorCode.CLAIM_INVALID, `a claim for this query is ${expectBytes} bytes, not ${blob.length}`);
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.length);
    let at = SESSION_BYTES;
    const accumulators = layers.map((l) => {
      // Sample-major on the wire, outputs × batch in the claim.
      const a = new Int32Array(l.outputs * q.batch);
      for (let k = 0; k < q.batch; k++) for (let i = 0; i < l.outputs; i++, at += 4) a[i * q.batch + k] = dv.getInt32(at, true);
      return a;
    });
    const claim: InferenceClaim = { modelHash: q.modelHash, agent, session: Buffer.from(session), batch: q.batch, input: q.input, accumulators };
    let logits: Int32Array;
    let soundnessBits: number;
    let spotChecked = false;
    if (this.config.check === 'freivalds') {
      try {
        const v = this.verifier.verify(claim, { agent, session: claim.session });
        logits = v.logits;
        soundnessBits = v.soundnessBits;
      } catch (err) {
        if (isMaxwellError(err)) return reject(err.code, err.message);
        throw err;
      }
    } else {
      logits = accumulators[layers.length - 1]!;
      soundnessBits = 0;
      if (shouldSpotCheck(this.config.spotRate, this.draw())) {
        spotChecked = true;
        st.spotChecked++;
        const honest = runModel(q.model, q.input, q.batch);
        if (!honest.every((a, i) => equalInt32(a, accumulators[i]!))) {
          return reject(ErrorCode.PROOF_INVALID, 'a spot check re-executed the claim and its outputs are false', true);
        }
        soundnessBits = Infinity; // re-executed: exact
      }
    }
    const last = layers[layers.length - 1]!;
    const bits = batchInformationGainBits(logits, last.outputs, q.batch, q.model.logitScale);
    const mb = milliBits(bits);
    const rewardUj = Math.floor((mb * this.config.rewardUjPerBit) / 1000);
    st.accepted++;
    st.soundnessBits = Math.min(st.soundnessBits, soundnessBits);
    st.bits += mb / 1000;
    st.samples += q.batch;
    st.rewardUj += rewardUj;
    return { ok: true, bits: mb / 1000, milliBits: mb, rewardUj, samples: q.batch, spotChecked, soundnessBits };
  }

  /** Open queries (all processes). */
  get openQueries(): number {
    return this.open.size;
  }
}

function emptyStats(): ProofStats {
  return { claims: 0, accepted: 0, rejected: 0, bits: 0, samples: 0, rewardUj: 0, spotChecked: 0, lastRejection: null, cheater: false, soundnessBits: Infinity };
}

/** batch × inputs (sample-major) → inputs × batch. */
function transpose8(x: Int8Array, batch: number, inputs: number): Int8Array {
  const out = new Int8Array(x.length);
  for (let k = 0; k < batch; k++) for (let j = 0; j < inputs; j++) out[j * batch + k] = x[k * inputs + j]!;
  return out;
}

function equalInt32(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A claim's bytes as an agent submits them (abi.ts's layout), from a session and every layer's
 * accumulators (outputs × batch, claim.ts's layout): what an honest agent writes. For tests,
 * the CLI and agents written in TypeScript.
 */
export function claimBlob(session: Uint8Array, accumulators: readonly Int32Array[], batch: number): Uint8Array {
  assert(session.length === SESSION_BYTES, 'a session is 16 bytes');
  const total = accumulators.reduce((s, a) => s + a.length, 0);
  const out = new Uint8Array(SESSION_BYTES + total * 4);
  out.set(session, 0);
  const dv = new DataView(out.buffer);
  let at = SESSION_BYTES;
  for (const a of accumulators) {
    assert(a.length % batch === 0, 'accumulators are outputs × batch');
    const outputs = a.length / batch;
    for (let k = 0; k < batch; k++) for (let i = 0; i < outputs; i++, at += 4) dv.setInt32(at, a[i * batch + k]!, true);
  }
  return out;
}

/** inputs × batch (claim.ts's layout) → batch × inputs, sample-major (a query's layout). */
export function toSampleMajor(x: Int8Array, inputs: number, batch: number): Int8Array {
  assert(x.length === inputs * batch, 'x is inputs × batch');
  const out = new Int8Array(x.length);
  for (let j = 0; j < inputs; j++) for (let k = 0; k < batch; k++) out[k * inputs + j] = x[j * batch + k]!;
  return out;
}
