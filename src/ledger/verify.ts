/**
 * `maxwell ledger verify`: walks a stored ledger from its genesis and checks everything the
 * format promises (docs/ledger.md): every entry decodes, agrees with its indexed columns and its
 * stored hash, and passes the validity rules (state.ts: sequence, chain, parties, balances, mint
 * bound, nonces and signatures, charge arithmetic); every epoch's Merkle root is the root of the
 * entries so far and its signature verifies with the node's key; the stored Merkle nodes are the
 * computed ones; the stored balances and head state are the replayed ones. It stops at the first
 * bad entry or epoch and names it.
 */
import { createHash, verify as edVerify, type Hash } from 'node:crypto';
import { assert } from '../assert.js';
import { decodeEntry, epochMessage, FormatError, hex, leafHash, ZERO_WALLET } from './format.js';
import { MerkleFrontier } from './merkle.js';
import { LedgerState, publicKeyFromRaw, RuleError } from './state.js';
import { NODE_MIN_SIZE, partiesOf, type LedgerStore } from './store.js';

export interface Problem {
  /** The first bad entry, if the problem is an entry's. */
  seq?: number;
  /** The epoch it is in, or the bad epoch. */
  epoch?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  problem?: Problem;
  entries: number;
  epochs: number;
  wallets: number;
  supplyUj: number;
  mintedUj: number;
  burnedUj: number;
  nodeKey?: string;
  seconds: number;
}

export interface VerifyOptions {
  /** Called now and then with the entries checked so far. */
  onProgress?: (entries: number) => void;
}

export function verifyLedger(store: LedgerStore, opts: VerifyOptions = {}): VerifyReport {
  const t0 = performance.now();
  const genesis = store.genesis();
  const report = (problem: Problem | undefined, st?: LedgerState, epochs = 0): VerifyReport => ({
    ok: problem === undefined,
    ...(problem ? { problem } : {}),
    entries: st?.nextSeq ?? 0,
    epochs,
    wallets: st?.balances.size ?? 0,
    supplyUj: st?.supplyUj ?? 0,
    mintedUj: st?.mintedUj ?? 0,
    burnedUj: st?.burnedUj ?? 0,
    ...(genesis ? { nodeKey: hex(genesis.nodeKey) } : {}),
    seconds: (performance.now() - t0) / 1000,
  });
  if (genesis === undefined) return report({ message: `${store.path} has no genesis record: not a Maxwell ledger, or an empty one` });
  const st = new LedgerState(genesis);
  const frontier = new MerkleFrontier();
  const nodeKey = publicKeyFromRaw(genesis.nodeKey);
  let epochs = 0;
  let expectedEpoch = 0;
  let progressAt = 0;
  // The stored Merkle nodes (a cache the proofs read) are checked in bulk: a digest per tree
  // level of the computed nodes, in start order, against the same digest of the stored ones,
  // read in (size, start) order after the walk. One lookup per node cost more than the rest
  // of the walk.
  const computedNodes = new Map<number, Hash>();
  const onNode = (start: number, size: number, hash: Buffer): void => {
    if (size < NODE_MIN_SIZE) return;
    let h = computedNodes.get(size);
    if (h === undefined) computedNodes.set(size, (h = createHash('sha256')));
    h.update(nodeRecord(start, hash));
  };
  // The epoch's wallet index as the entries give it, to check the stored one (receipts read it).
  const wallets = new Map<string, number[]>();
  const indexed = (w: Buffer, seq: number): void => {
    const k = hex(w);
    const list = wallets.get(k);
    if (list === undefined) wallets.set(k, [seq]);
    else list.push(seq);
  };

  for (const { epoch: ep, entries, firstSeq } of store.epochsWithEntries()) {
    if (ep.epoch !== expectedEpoch) return report({ epoch: expectedEpoch, message: `epoch ${expectedEpoch} is missing (the next stored is ${ep.epoch})` }, st, epochs);
    assert(firstSeq === st.nextSeq, 'epochs are walked in order, each checked to end at its treeSize');
    if (ep.treeSize <= st.nextSeq) return report({ epoch: ep.epoch, message: `epoch ${ep.epoch} ends at ${ep.treeSize} entries, not after the previous epoch's ${st.nextSeq}` }, st, epochs);
    for (const row of entries) {
      const seq = st.nextSeq;
      if (seq >= ep.treeSize) return report({ seq, epoch: ep.epoch, message: `epoch ${ep.epoch} holds more entries than its signed head (${ep.treeSize - firstSeq}): entry ${seq} was inserted` }, st, epochs);
      let e;
      try {
        e = decodeEntry(row.bytes);
      } catch (err) {
        if (err instanceof FormatError) return report({ seq, epoch: ep.epoch, message: `entry ${seq} does not decode: ${err.message}` }, st, epochs);
        throw err;
      }
      if (e.seq !== seq) {
        return report({ seq, epoch: ep.epoch, message: `entry ${seq} is missing or out of place: entry ${e.seq} is stored in its place (dropped or reordered entries)` }, st, epochs);
      }
      const leaf = leafHash(row.bytes);
      if (!leaf.equals(row.hash)) return report({ seq, epoch: ep.epoch, message: `entry ${seq} was altered: its bytes do not hash to its stored hash` }, st, epochs);
      try {
        st.apply(e, leaf);
      } catch (err) {
        if (err instanceof RuleError) {
          const hint = err.rule === 'R1' && seq > 0 ? ` (entry ${seq - 1} or ${seq} was altered, or they were reordered)` : '';
          return report({ seq, epoch: ep.epoch, message: `entry ${seq} (${e.kind}) breaks ${err.message}${hint}` }, st, epochs);
        }
        throw err;
      }
      const [party, party2] = partiesOf(e.from, e.to, genesis.nodeKey, ZERO_WALLET);
      indexed(party, seq);
      if (party2 !== null) indexed(party2, seq);
      frontier.push(leaf, onNode);
      if (st.nextSeq - progressAt >= 100_000) {
        progressAt = st.nextSeq;
        opts.onProgress?.(progressAt);
      }
    }
    if (st.nextSeq !== ep.treeSize) {
      return report({ seq: st.nextSeq, epoch: ep.epoch, message: `entry ${st.nextSeq} is missing: epoch ${ep.epoch} holds ${st.nextSeq - firstSeq} entries, its signed head ${ep.treeSize - firstSeq}` }, st, epochs);
    }
    const storedIndex = store.epochWallets(ep.epoch);
    for (const [w, seqs] of wallets) {
      const got = storedIndex.get(w);
      if (got === undefined || got.length !== seqs.length || got.some((x, i) => x !== seqs[i])) {
        return report({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s wallet index is wrong for ${w} (receipts would miss or invent entries)` }, st, epochs);
      }
    }
    if (storedIndex.size !== wallets.size) return report({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s wallet index names a wallet with no entry in the epoch` }, st, epochs);
    wallets.clear();
    if (!frontier.root().equals(ep.root)) {
      return report({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s Merkle root is not the root of entries 0..${ep.treeSize - 1}: an entry in it was altered` }, st, epochs);
    }
    if (!edVerify(null, epochMessage(genesis.nodeKey, ep), nodeKey, ep.signature)) {
      return report({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s signature does not verify with the node's key ${hex(genesis.nodeKey)}` }, st, epochs);
    }
    const bad = st.checkInvariants();
    if (bad !== null) return report({ epoch: ep.epoch, message: `after epoch ${ep.epoch}: ${bad}` }, st, epochs);
    epochs++;
    expectedEpoch++;
  }

  const storedNodes = new Map<number, Hash>();
  for (const n of store.nodes()) {
    let h = storedNodes.get(n.size);
    if (h === undefined) storedNodes.set(n.size, (h = createHash('sha256')));
    h.update(nodeRecord(n.start, n.hash));
  }
  for (const size of new Set([...computedNodes.keys(), ...storedNodes.keys()])) {
    const a = computedNodes.get(size)?.digest();
    const b = storedNodes.get(size)?.digest();
    if (a === undefined || b === undefined || !a.equals(b)) {
      return report({ message: `the stored Merkle nodes of ${size} leaves are not the computed ones (a node is wrong, missing or extra): inclusion proofs would fail` }, st, epochs);
    }
  }

  // The writer's resume state must be what the log says.
  const stored = new Map(store.balances().map(([w, b, n]) => [w, { b, n }]));
  for (const [w, b] of st.balances) {
    const s = stored.get(w);
    if (epochs > 0 && (s === undefined || s.b !== b || s.n !== (st.nonces.get(w) ?? 0)) && !(s === undefined && b === 0 && w === st.nodeHex && st.nextSeq === 0)) {
      return report({ message: `the stored balance of ${w} (${s?.b} µJ, nonce ${s?.n}) is not the replayed ${b} µJ (nonce ${st.nonces.get(w) ?? 0})` }, st, epochs);
    }
  }
  for (const w of stored.keys()) if (!st.balances.has(w)) return report({ message: `the stored balances name ${w}, which no entry pays` }, st, epochs);
  const head = store.head();
  if (epochs > 0 && (head === undefined || head.nextSeq !== st.nextSeq || head.lastHash !== hex(st.lastHash) || head.mintedUj !== st.mintedUj || head.burnedUj !== st.burnedUj || head.lastMintEndMs !== st.lastMintEndMs)) {
    return report({ message: 'the stored head state is not the replayed one' }, st, epochs);
  }
  return report(undefined, st, epochs);
}

function nodeRecord(start: number, hash: Buffer): Buffer {
  const b = Buffer.allocUnsafe(8 + hash.length);
  b.writeUInt32BE(Math.floor(start / 0x1_0000_0000), 0);
  b.writeUInt32BE(start >>> 0, 4);
  hash.copy(b, 8);
  return b;
}
