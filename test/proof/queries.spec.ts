// Queries and rewards (src/proof/queries.ts): the fee covers the most a query can earn; an
// honest answer is paid exactly once, on the information gain of its verified logits; every
// attack is refused with its code, in both checking modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ClaimVerifier } from '../../src/proof/claim.js';
import { readInferModel, quantiseInput } from '../../src/proof/files.js';
import { batchInformationGainBits, milliBits } from '../../src/proof/infogain.js';
import { runModel, modelHash } from '../../src/proof/model.js';
import { QueryBook, claimBlob, toSampleMajor, checkRewardConfig, DEFAULT_REWARD_CONFIG, type RewardConfig } from '../../src/proof/queries.js';
import { ErrorCode } from '../../src/errors.js';

const infer = await readInferModel();
const HASH = modelHash(infer.model).toString('hex');
const AGENT = randomBytes(32);
const BATCH = 9;
/** Five queries of 9 held-out samples each (inputs × batch), and the same sample-major. */
const COLUMNS = Array.from({ length: 5 }, (_, q) => quantiseInput(infer.testX.slice(q * BATCH, (q + 1) * BATCH), infer.inputZero));
const ROWS = COLUMNS.map((x) => toSampleMajor(x, 4, BATCH));

function book(config: Partial<RewardConfig> = {}, draw = () => 0.5) {
  const verifier = new ClaimVerifier();
  verifier.register(infer.model);
  return new QueryBook({ verifier, config: { ...DEFAULT_REWARD_CONFIG, ...config }, draw });
}

function open(b: QueryBook, pid: number) {
  const p = b.prepare(HASH, ROWS, BATCH);
  b.commit(pid, HASH, p.queries);
  return p;
}

/** The honest answer to query q (session from the prepared query). */
function honest(session: Uint8Array, q: number): Uint8Array {
  return claimBlob(session, runModel(infer.model, COLUMNS[q]!, BATCH), BATCH);
}

describe('queries and rewards', () => {
  it('the fee is the most the queries can earn: log2(C) bits per sample at the reward rate, rounded up', () => {
    const b = book({ rewardUjPerBit: 20 });
    const p = b.prepare(HASH, ROWS, BATCH);
    assert.equal(p.samples, 45);
    assert.equal(p.feeUj, Math.ceil(Math.log2(3) * 45 * 20));
    assert.equal(p.queries.length, 5);
    assert.equal(new Set(p.queries.map((q) => Buffer.from(q.session).toString('hex'))).size, 5, 'fresh sessions');
    assert.equal(book({ rewardUjPerBit: 20, feeOverMaxReward: 2 }).prepare(HASH, ROWS, BATCH).feeUj, Math.ceil(Math.log2(3) * 45 * 40));
  });

  it('an honest answer is paid once, on the information gain of the verified logits, rounded down to milli-bits', () => {
    const b = book({ rewardUjPerBit: 20 });
    const p = open(b, 7);
    let paid = 0;
    for (let q = 0; q < 5; q++) {
      const r = b.settle(7, AGENT, honest(p.queries[q]!.session, q));
      assert.ok(r.ok, JSON.stringify(r));
      const logits = runModel(infer.model, COLUMNS[q]!, BATCH)[1]!;
      const mb = milliBits(batchInformationGainBits(logits, 3, BATCH, infer.model.logitScale));
      assert.equal(r.milliBits, mb);
      assert.equal(r.rewardUj, Math.floor((mb * 20) / 1000));
      assert.ok(r.soundnessBits >= 40);
      paid += r.rewardUj;
    }
    assert.ok(paid <= p.feeUj, `rewards ${paid} µJ never exceed the fee ${p.feeUj} µJ`);
    assert.ok(paid > 0.5 * p.feeUj, 'a good classifier earns most of it');
    const st = b.statsOf(7)!;
    assert.deepEqual([st.claims, st.accepted, st.rejected, st.samples, st.rewardUj], [5, 5, 0, 45, paid]);
    assert.ok(st.soundnessBits >= 40, 'the weakest bound among its accepted claims');
    // The same claim again: its session is answered.
    const again = b.settle(7, AGENT, honest(p.queries[0]!.session, 0));
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.code, ErrorCode.CLAIM_INVALID);
    assert.equal(b.openQueries, 0);
  });

  it('refuses a wrong output, another process\'s session, a wrong length and an unknown session; a refused session cannot be retried', () => {
    const b = book();
    const p = open(b, 7);
    const wrong = honest(p.queries[0]!.session, 0);
    new DataView(wrong.buffer).setInt32(wrong.length - 4, new DataView(wrong.buffer).getInt32(wrong.length - 4, true) + 1, true); // one logit
    const r1 = b.settle(7, AGENT, wrong);
    assert.equal(!r1.ok && r1.code, ErrorCode.PROOF_INVALID);
    const retry = b.settle(7, AGENT, honest(p.queries[0]!.session, 0));
    assert.equal(!retry.ok && retry.code, ErrorCode.CLAIM_INVALID, 'one answer per query');
    // Query 1's session, claimed by process 8.
    const r2 = b.settle(8, AGENT, honest(p.queries[1]!.session, 1));
    assert.equal(!r2.ok && r2.code, ErrorCode.CLAIM_INVALID);
    const r3 = b.settle(7, AGENT, honest(p.queries[2]!.session, 2).subarray(0, 100));
    assert.equal(!r3.ok && r3.code, ErrorCode.CLAIM_INVALID);
    const r4 = b.settle(7, AGENT, honest(randomBytes(16), 3));
    assert.equal(!r4.ok && r4.code, ErrorCode.CLAIM_INVALID);
    // Another query's outputs for this query's session (the answer to a different input).
    const r5 = b.settle(7, AGENT, claimBlob(p.queries[3]!.session, runModel(infer.model, COLUMNS[4]!, BATCH), BATCH));
    assert.equal(!r5.ok && r5.code, ErrorCode.PROOF_INVALID);
    assert.equal(b.statsOf(7)!.rewardUj, 0);
    assert.equal(b.statsOf(7)!.rejected, 5);
  });

  it('spot checks: a sampled false claim marks a cheater; unsampled claims are accepted on trust (the risk the rate prices)', () => {
    const b = book({ check: 'spot', spotRate: 0.5 }, (() => { let i = 0; return () => [0.9, 0.1][i++ % 2]!; })());
    const p = open(b, 3);
    const lie = (q: number) => {
      const x = honest(p.queries[q]!.session, q);
      x[x.length - 1] ^= 1;
      return x;
    };
    const r1 = b.settle(3, AGENT, lie(0)); // draw 0.9: not checked
    assert.ok(r1.ok && !r1.spotChecked);
    assert.equal(b.statsOf(3)!.soundnessBits, 0, 'a claim accepted on trust carries no bound');
    const r2 = b.settle(3, AGENT, lie(1)); // draw 0.1: checked, caught
    assert.equal(!r2.ok && r2.cheater, true);
    assert.equal(b.statsOf(3)!.cheater, true);
    // Caught once, paid for nothing more, even an honest answer.
    const r3 = b.settle(3, AGENT, honest(p.queries[2]!.session, 2));
    assert.equal(!r3.ok && r3.cheater, true);
    // An honest process's sampled claim is re-executed and accepted, exactly.
    const h = book({ check: 'spot', spotRate: 1 });
    const hp = open(h, 4);
    const r4 = h.settle(4, AGENT, honest(hp.queries[3]!.session, 3));
    assert.ok(r4.ok && r4.spotChecked && r4.soundnessBits === Infinity);
  });

  it('close forgets a dead process\'s open queries; unknown models and bad shapes are refused', () => {
    const b = book();
    open(b, 1);
    open(b, 2);
    assert.equal(b.close(1), 5);
    assert.equal(b.openQueries, 5);
    assert.throws(() => b.prepare('00'.repeat(32), ROWS, BATCH), { code: ErrorCode.MODEL_UNKNOWN });
    assert.throws(() => b.prepare(HASH, [ROWS[0]!.subarray(1)], BATCH), { code: ErrorCode.BAD_ARGUMENT });
    assert.throws(() => b.prepare(HASH, [], BATCH), { code: ErrorCode.BAD_ARGUMENT });
    assert.throws(() => b.prepare(HASH, ROWS, 0), { code: ErrorCode.BAD_ARGUMENT });
  });

  it('refuses batches whose answer could not fit one claim (a fee for an answer that can never be given)', () => {
    const wide = { name: 'wide', logitScale: 1 / 64, layers: [
      { inputs: 4, outputs: 512, weights: new Int8Array(4 * 512), bias: new Int32Array(512), requant: { multiplier: 1, shift: 8, lo: 0, hi: 127 } },
      { inputs: 512, outputs: 10, weights: new Int8Array(5120), bias: new Int32Array(10) },
    ] };
    const verifier = new ClaimVerifier();
    const hash = verifier.register(wide);
    const b = new QueryBook({ verifier });
    // 16 + 4 × 600 × (512 + 10) bytes > 1 MiB.
    assert.throws(() => b.prepare(hash, [new Int8Array(4 * 600)], 600), { code: ErrorCode.BAD_ARGUMENT, message: /claim of \d+ bytes/ });
    assert.equal(b.prepare(hash, [new Int8Array(4 * 400)], 400).queries.length, 1);
    assert.throws(() => b.prepare(hash, Array.from({ length: 65_537 }, () => new Int8Array(4)), 1), { code: ErrorCode.BAD_ARGUMENT, message: /at most 65536 queries/ });
  });

  it('a fee below the most a query can earn is refused: requester and agent could farm the treasury', () => {
    assert.throws(() => checkRewardConfig({ ...DEFAULT_REWARD_CONFIG, feeOverMaxReward: 0.99 }), { code: ErrorCode.BAD_ARGUMENT, message: /farm/ });
    assert.throws(() => checkRewardConfig({ ...DEFAULT_REWARD_CONFIG, rewardUjPerBit: -1 }), { code: ErrorCode.BAD_ARGUMENT });
    assert.throws(() => checkRewardConfig({ ...DEFAULT_REWARD_CONFIG, spotRate: 2 }), { code: ErrorCode.BAD_ARGUMENT });
  });
});
