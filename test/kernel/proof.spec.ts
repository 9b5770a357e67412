// Proof of useful work on a running node (NodeHost): a requester pays for queries, the infer
// agent answers them with claims, and the node pays each verified claim's information gain into
// the agent's wallet, once; a liar earns nothing; a liar caught by a spot check is killed; a
// requester who cannot pay the fee starts nothing. Everything lands in a ledger that verifies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import binaryen from 'binaryen';
import { NodeHost } from '../../src/kernel/host.js';
import { DEFAULT_KERNEL_CONFIG } from '../../src/kernel/config.js';
import { generateKey } from '../../src/ledger/keys.js';
import type { Entry } from '../../src/ledger/format.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { readInferModel, quantiseInput } from '../../src/proof/files.js';
import { modelHash, runModel } from '../../src/proof/model.js';
import { batchInformationGainBits, milliBits } from '../../src/proof/infogain.js';
import { DEFAULT_REWARD_CONFIG, toSampleMajor, type RewardConfig } from '../../src/proof/queries.js';
import { ErrorCode } from '../../src/errors.js';
import { entries, NO_METER, ROOT, untilDead as untilDeadBase, wallet } from './host-helpers.js';

const infer = await readInferModel();
const HASH = modelHash(infer.model).toString('hex');
const BATCH = 9;
const COLUMNS = Array.from({ length: 5 }, (_, q) => quantiseInput(infer.testX.slice(q * BATCH, (q + 1) * BATCH), infer.inputZero));
const BATCHES = COLUMNS.map((x) => toSampleMajor(x, 4, BATCH));
const REWARD: RewardConfig = { ...DEFAULT_REWARD_CONFIG, rewardUjPerBit: 1000 };

async function openHost(rewards: RewardConfig = REWARD): Promise<NodeHost> {
  const stateDir = await mkdtemp(join(tmpdir(), 'mw-proof-'));
  return NodeHost.open({ stateDir, workers: 1, sysRoot: NO_METER, models: [infer.model], rewards, config: { ...DEFAULT_KERNEL_CONFIG, powerCapW: 1000 } });
}

/** A guest that takes every query and claims all-zero accumulators of the right length, then spins: a liar. */
function liar(): Uint8Array {
  const m = binaryen.parseText(`(module
    (import "maxwell" "query" (func $query (param i32 i32) (result i32)))
    (import "maxwell" "claim" (func $claim (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start") (local $n i32) (local $len i32) (local $i i32)
      (loop $next
        (local.set $n (call $query (i32.const 0) (i32.const 4096)))
        (if (i32.gt_s (local.get $n) (i32.const 0))
          (then
            ;; 16 + batch × (16 + 3) × 4 bytes: the session, then zeros.
            (local.set $len (i32.add (i32.const 16) (i32.mul (i32.load (i32.const 16)) (i32.const 76))))
            (local.set $i (i32.const 16))
            (loop $zero
              (i32.store (local.get $i) (i32.const 0))
              (local.set $i (i32.add (local.get $i) (i32.const 4)))
              (br_if $zero (i32.lt_u (local.get $i) (local.get $len))))
            (drop (call $claim (i32.const 0) (local.get $len)))
            (br $next))))
      ;; Then it stays, burning fuel (so that a spot check finds it alive).
      (loop $spin (br $spin))))`);
  try {
    if (!m.validate()) throw new Error('the liar does not validate');
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** Until the process is dead and its last slot settled (its exit and its claims). */
async function untilDead(host: NodeHost, pid: number): Promise<void> {
  await untilDeadBase(host, pid);
  await sleep(50);
}

describe('proof of useful work on a node', () => {
  it('the infer agent answers a requester\'s queries; each verified claim is paid its information gain once; the ledger verifies', async () => {
    const host = await openHost();
    try {
      const requester = await wallet(host, 1);
      const agentWallet = await wallet(host, 1);
      const module = new Uint8Array(await readFile(join(ROOT, 'agents/build/infer.wasm')));
      const p = await host.submit({ module, agent: 'infer', wallet: agentWallet, args: ['infer', '0'], queries: { requester, modelHash: HASH, batches: BATCHES, batch: BATCH } });
      await untilDead(host, p.pid);
      const v = host.inspect(p.pid);
      assert.equal(v.exit?.reason, 'exit', v.exit?.message);
      assert.match(v.stdout ?? '', /served=5 samples=45 refused=0/);
      assert.deepEqual([v.proof?.claims, v.proof?.accepted, v.proof?.rejected, v.proof?.samples], [5, 5, 0, 45]);
      const expectMilliBits = COLUMNS.reduce((s, x) => s + milliBits(batchInformationGainBits(runModel(infer.model, x, BATCH)[1]!, 3, BATCH, infer.model.logitScale)), 0);
      assert.ok(Math.abs(v.proof!.bits - expectMilliBits / 1000) < 1e-9, `${v.proof!.bits} bits`);
      assert.ok(v.proof!.bitsPerJ > 0);

      const es = entries(host);
      const fees = es.filter((e) => e.kind === 'query_fee');
      assert.equal(fees.length, 1);
      assert.ok(fees[0]!.kind === 'query_fee' && fees[0].pid === p.pid && fees[0].samples === 45 && fees[0].from.equals(requester));
      assert.equal(fees[0]!.amountUj, Math.ceil(Math.log2(3) * 45 * 1000));
      const rewards = es.filter((e): e is Entry & { kind: 'reward' } => e.kind === 'reward');
      assert.ok(rewards.length >= 1);
      assert.ok(rewards.every((e) => e.pid === p.pid && e.to.equals(agentWallet)));
      assert.equal(rewards.reduce((s, e) => s + e.milliBits, 0), expectMilliBits, 'every verified milli-bit, paid once');
      const paidUj = rewards.reduce((s, e) => s + e.amountUj, 0);
      assert.equal(paidUj, Math.floor(v.proof!.rewardJ * 1e6 + 1e-6));
      assert.ok(paidUj <= fees[0]!.amountUj);
      // The agent's wallet: funded, less what it paid, plus what it earned.
      const debits = es.filter((e) => e.from.equals(agentWallet)).reduce((s, e) => s + e.amountUj, 0);
      assert.equal(host.ledger.balanceOf(agentWallet), 1_000_000 - debits + paidUj);
      assert.ok(paidUj > debits, `it earned ${paidUj} µJ, more than the ${debits} µJ it spent`);
      const store = new SqliteStore(join(host.stateDir, 'ledger.db'), { readonly: true });
      try {
        const report = verifyLedger(store);
        assert.equal(report.ok, true, JSON.stringify(report.problem));
      } finally {
        store.close();
      }
    } finally {
      await host.close();
    }
  });

  it('a liar is refused (E_PROOF_INVALID) and earns nothing; under spot checks it is caught and killed', async () => {
    for (const rewards of [REWARD, { ...REWARD, check: 'spot', spotRate: 1 } satisfies RewardConfig]) {
      const host = await openHost(rewards);
      try {
        const requester = await wallet(host, 1);
        const w = await wallet(host, 1);
        const p = await host.submit({ module: liar(), agent: 'liar', wallet: w, queries: { requester, modelHash: HASH, batches: BATCHES, batch: BATCH } });
        const end = Date.now() + 20_000;
        while ((host.inspect(p.pid).proof?.claims ?? 0) === 0 && Date.now() < end) await sleep(10);
        if (rewards.check === 'spot') {
          await untilDead(host, p.pid);
          const v = host.inspect(p.pid);
          assert.equal(v.exit?.reason, 'killed');
          assert.match(v.exit?.message ?? '', /spot check/);
          assert.equal(v.proof?.accepted, 0);
          assert.equal(v.proof?.lastRejection, ErrorCode.PROOF_INVALID);
        } else {
          while (host.inspect(p.pid).proof!.claims < 5 && Date.now() < end) await sleep(10);
          const v = host.inspect(p.pid);
          assert.deepEqual([v.proof?.claims, v.proof?.accepted, v.proof?.rejected], [5, 0, 5]);
          assert.equal(v.proof?.lastRejection, ErrorCode.PROOF_INVALID);
          assert.notEqual(v.state, 'dead', 'refused claims alone do not kill (only a caught spot check does)');
          host.kill(p.pid);
          await untilDead(host, p.pid);
        }
        assert.equal(entries(host).filter((e) => e.kind === 'reward').length, 0);
      } finally {
        await host.close();
      }
    }
  });

  it('a fee never spends what erasure bonds hold: a self-request that would is refused, and the node lives on', async () => {
    const host = await openHost();
    try {
      const module = new Uint8Array(await readFile(join(ROOT, 'agents/build/infer.wasm')));
      const fee = host.node.proofs!.feeUj(3, 45);
      // Enough for the fee but not the fee and the module's erasure bond, which the same wallet posts.
      const w = await wallet(host, (fee + 30) / 1e6);
      await assert.rejects(host.submit({ module, agent: 'infer', wallet: w, args: ['infer', '0'], queries: { requester: w, modelHash: HASH, batches: BATCHES, batch: BATCH } }), { code: ErrorCode.AMOUNT_INVALID, message: /fee/ });
      assert.equal(entries(host).filter((e) => e.kind === 'query_fee').length, 0);
      // With enough for both, the self-request runs: it gets back at most what it paid.
      const rich = await wallet(host, 1);
      const p = await host.submit({ module, agent: 'infer', wallet: rich, args: ['infer', '0'], queries: { requester: rich, modelHash: HASH, batches: BATCHES, batch: BATCH } });
      await untilDead(host, p.pid);
      const v = host.inspect(p.pid);
      assert.equal(v.proof?.accepted, 5);
      assert.ok(v.proof!.rewardJ * 1e6 <= fee, 'a self-made query earns at most its fee');
    } finally {
      await host.close();
    }
  });

  it('a requester who cannot pay the fee starts nothing; an unregistered model is refused', async () => {
    const host = await openHost();
    try {
      const poor = await wallet(host, 0.000_1);
      const w = await wallet(host, 1);
      const module = new Uint8Array(await readFile(join(ROOT, 'agents/build/infer.wasm')));
      await assert.rejects(host.submit({ module, agent: 'infer', wallet: w, queries: { requester: poor, modelHash: HASH, batches: BATCHES, batch: BATCH } }), { code: ErrorCode.AMOUNT_INVALID, message: /fee/ });
      await assert.rejects(host.submit({ module, agent: 'infer', wallet: w, queries: { requester: w, modelHash: '11'.repeat(32), batches: BATCHES, batch: BATCH } }), { code: ErrorCode.MODEL_UNKNOWN });
      await assert.rejects(host.submit({ module, agent: 'infer', wallet: w, queries: { requester: generateKey().raw, modelHash: HASH, batches: BATCHES, batch: BATCH } }), { code: ErrorCode.WALLET_UNKNOWN });
      // A bid the market refuses: refused before the fee, so the requester pays nothing.
      const requester = await wallet(host, 1);
      await assert.rejects(host.submit({ module, agent: 'infer', wallet: w, bid: 1e-7, queries: { requester, modelHash: HASH, batches: BATCHES, batch: BATCH } }), { code: ErrorCode.BID_INVALID });
      assert.equal(host.ledger.balanceOf(requester), 1_000_000);
      // The node's own wallet pays nothing (it is the treasury).
      await assert.rejects(host.submit({ module, agent: 'infer', wallet: host.ledger.nodeWallet }), { code: ErrorCode.WALLET_INVALID });
      assert.equal(host.list().filter((x) => x.state !== 'dead').length, 0);
      assert.equal(entries(host).filter((e) => e.kind === 'query_fee').length, 0);
      assert.equal(host.node.proofs!.openQueries, 0, 'no queries left open by a refused admission');
    } finally {
      await host.close();
    }
  });
});
