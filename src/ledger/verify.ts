/**
 * `maxwell ledger verify`: walks a stored ledger from its genesis and checks everything the
 * format promises (docs/ledger.md): every entry decodes, sits at its sequence number and hashes
 * to its stored hash, and passes the validity rules (state.ts: sequence, chain, parties,
 * balances, mint bound, nonces and signatures, charge arithmetic); every epoch's Merkle root is
 * the root of the entries so far and its signature verifies with the node's key; the wallet
 * index and the stored Merkle nodes are the computed ones; the stored balances and head state
 * are the replayed ones. It stops at the first bad entry or epoch and names it.
 *
 * The walk can be cut into segments of whole epochs, each replayed on its own thread from what
 * its entries say about the state before them (LedgerState.forSegment: every entry records both
 * parties' balances after it), then joined in order, checking each segment's assumptions
 * against the state the previous one ended with (joinSegment) and its starting Merkle frontier
 * against the previous one's final frontier. The joined result is exactly what one pass gives.
 */
import { createHash, verify as edVerify, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { assert } from '../assert.js';
import { entryLengthAt, epochMessage, FormatError, HASH_BYTES, hex, KIND_NAMES, leafHashLatinAt, readU64, type Genesis } from './format.js';
import { MerkleFrontier } from './merkle.js';
import { LedgerState, publicKeyFromRaw, RuleError, SeamError, type Assumptions, type StateSnapshot } from './state.js';
import { NODE_MIN_SIZE, packWalletIndex, type EpochRecord, type LedgerStore } from './store.js';

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
  /** Threads the walk used. */
  threads: number;
  seconds: number;
}

export interface VerifyOptions {
  /** Called now and then with the entries checked so far. */
  onProgress?: (entries: number) => void;
}

/** What one segment's walk found; plain data, so that it crosses from a worker thread. */
export interface SegmentResult {
  problem?: Problem;
  /**
   * A wrong stored Merkle node: checked after the segment's walk, and reported only if no
   * segment has a problem of its own (a single pass checks the nodes after every entry).
   */
  nodeProblem?: Problem;
  /** The state after the segment's last good entry (a segment's: only the wallets it met). */
  final: StateSnapshot;
  assumptions?: Assumptions;
  /** The Merkle frontier the segment started from (read from the stored nodes) and ended with, as [size, hash hex] pairs. */
  startFrontier: [number, string][];
  endFrontier: [number, string][];
  epochs: number;
}

export interface SegmentRange {
  fromEpoch: number;
  /** Exclusive. */
  toEpoch: number;
  /** The first entry of fromEpoch (the previous epoch's tree size). */
  firstSeq: number;
  /** The last seq + 1 of toEpoch − 1. */
  endSeq: number;
}

/** Walks epochs [fromEpoch, toEpoch) of the store. */
export function verifySegment(store: LedgerStore, genesis: Genesis, range: SegmentRange, onProgress?: (entries: number) => void): SegmentResult {
  const fromGenesis = range.fromEpoch === 0;
  assert(!fromGenesis || range.firstSeq === 0, 'the first segment starts at entry 0');
  const st = fromGenesis ? new LedgerState(genesis) : LedgerState.forSegment(genesis, range.firstSeq);
  const nodeKey = publicKeyFromRaw(genesis.nodeKey);
  let epochs = 0;
  let frontier: MerkleFrontier;
  const result = (problem?: Problem, nodeProblem?: Problem): SegmentResult => ({
    ...(problem ? { problem } : {}),
    ...(nodeProblem ? { nodeProblem } : {}),
    final: st.snapshot(),
    ...(fromGenesis ? {} : { assumptions: st.assumptions()! }),
    startFrontier,
    endFrontier: frontier?.edge().map(([s, h]) => [s, hex(h)] as [number, string]) ?? [],
    epochs,
  });
  let startFrontier: [number, string][] = [];
  try {
    frontier = fromGenesis ? new MerkleFrontier() : MerkleFrontier.fromSource(store, range.firstSeq);
  } catch (err) {
    frontier = new MerkleFrontier();
    return result({ epoch: range.fromEpoch, message: `the stored Merkle nodes before entry ${range.firstSeq} are missing: ${(err as Error).message}` });
  }
  startFrontier = frontier.edge().map(([s, h]) => [s, hex(h)]);

  // Merkle nodes this segment completes, digested per tree level in start order, to compare
  // with the stored ones (a cache the proofs read) in bulk at the end: one lookup per node cost
  // more than the rest of the walk.
  const computedNodes = new Map<number, Hash>();
  const onNode = (start: number, size: number, hash: string): void => {
    if (size < NODE_MIN_SIZE) return;
    // Nodes of one size complete in start order, at every aligned start: their hashes in that
    // order say it all (the stored side checks that its starts are exactly those).
    let h = computedNodes.get(size);
    if (h === undefined) computedNodes.set(size, (h = createHash('sha256')));
    h.update(hash, 'latin1');
  };
  // The epoch's wallet index as its entries give it, to check the stored one (receipts read it).
  const wallets = new Map<string, number[]>();
  const indexed = (k: string, seq: number): void => {
    const list = wallets.get(k);
    if (list === undefined) wallets.set(k, [seq]);
    else list.push(seq);
  };
  let progressAt = st.nextSeq;
  let expectedEpoch = range.fromEpoch;

  for (const { epoch: ep, entries: blob, hashes, firstSeq } of store.epochBlobs(range.fromEpoch)) {
    if (ep.epoch >= range.toEpoch) break;
    if (ep.epoch !== expectedEpoch) return result({ epoch: expectedEpoch, message: `epoch ${expectedEpoch} is missing (the next stored is ${ep.epoch})` });
    if (firstSeq !== st.nextSeq) return result({ epoch: ep.epoch, message: `epoch ${ep.epoch} starts at entry ${firstSeq}, not at ${st.nextSeq}` });
    if (ep.treeSize <= st.nextSeq) return result({ epoch: ep.epoch, message: `epoch ${ep.epoch} ends at ${ep.treeSize} entries, not after the previous epoch's ${st.nextSeq}` });
    // The entries are walked in place in the epoch's blob (applyAt): no object per entry.
    for (let at = 0, i = 0; at < blob.length; i++) {
      const seq = st.nextSeq;
      if (seq >= ep.treeSize) return result({ seq, epoch: ep.epoch, message: `epoch ${ep.epoch} holds more entries than its signed head (${ep.treeSize - firstSeq}): entry ${seq} was inserted` });
      const len = entryLengthAt(blob, at);
      if (len < 0 || at + len > blob.length) return result({ seq, epoch: ep.epoch, message: `entry ${seq} does not decode: ${len < 0 ? `version ${blob[at]}, kind ${blob[at + 1]}` : 'it is cut short'}` });
      let stored: number;
      try {
        stored = readU64(blob, at + 2);
      } catch (err) {
        if (err instanceof FormatError) return result({ seq, epoch: ep.epoch, message: `entry ${seq} does not decode: ${err.message}` });
        throw err;
      }
      if (stored !== seq) {
        return result({ seq, epoch: ep.epoch, message: `entry ${seq} is missing or out of place: entry ${stored} is stored in its place (dropped or reordered entries)` });
      }
      const leaf = leafHashLatinAt(blob, at, len);
      if (hashes.length < (i + 1) * HASH_BYTES || hashes.toString('latin1', i * HASH_BYTES, (i + 1) * HASH_BYTES) !== leaf) {
        return result({ seq, epoch: ep.epoch, message: `entry ${seq} was altered: its bytes do not hash to its stored hash` });
      }
      try {
        st.applyAt(blob, at, len, leaf);
      } catch (err) {
        if (err instanceof FormatError) return result({ seq, epoch: ep.epoch, message: `entry ${seq} does not decode: ${err.message}` });
        if (err instanceof RuleError) {
          const hint = err.rule === 'R1' && seq > 0 ? ` (entry ${seq - 1} or ${seq} was altered, or they were reordered)` : '';
          return result({ seq, epoch: ep.epoch, message: `entry ${seq} (${KIND_NAMES[blob[at + 1]!]}) breaks ${err.message}${hint}` });
        }
        throw err;
      }
      indexed(st.lastParty, seq);
      if (st.lastParty2 !== null) indexed(st.lastParty2, seq);
      frontier.pushLatin(leaf, onNode);
      at += len;
      if (st.nextSeq - progressAt >= 100_000) {
        onProgress?.(st.nextSeq - progressAt);
        progressAt = st.nextSeq;
      }
    }
    if (st.nextSeq !== ep.treeSize) {
      return result({ seq: st.nextSeq, epoch: ep.epoch, message: `entry ${st.nextSeq} is missing: epoch ${ep.epoch} holds ${st.nextSeq - firstSeq} entries, its signed head ${ep.treeSize - firstSeq}` });
    }
    // The leaf groups the proofs hash small subtrees from must hold these leaves.
    const groups = store.leafGroups(firstSeq, ep.treeSize);
    const skip = (firstSeq % NODE_MIN_SIZE) * HASH_BYTES;
    if (groups.length < skip + hashes.length || groups.compare(hashes, 0, hashes.length, skip, skip + hashes.length) !== 0) {
      return result({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s leaf groups (the leaf hashes proofs use) are not its entries' hashes: inclusion proofs would fail` });
    }
    if (!store.epochWallets(ep.epoch).equals(packWalletIndex(wallets, firstSeq))) {
      return result({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s wallet index is not the one its entries give (receipts would miss or invent entries)` });
    }
    wallets.clear();
    if (!frontier.root().equals(ep.root)) {
      return result({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s Merkle root is not the root of entries 0..${ep.treeSize - 1}: an entry in it was altered` });
    }
    if (!edVerify(null, epochMessage(genesis.nodeKey, ep), nodeKey, ep.signature)) {
      return result({ epoch: ep.epoch, message: `epoch ${ep.epoch}'s signature does not verify with the node's key ${hex(genesis.nodeKey)}` });
    }
    if (fromGenesis) {
      // A later segment knows only the wallets it met: the joined state is checked at the end.
      const bad = st.checkInvariants();
      if (bad !== null) return result({ epoch: ep.epoch, message: `after epoch ${ep.epoch}: ${bad}` });
    }
    epochs++;
    expectedEpoch++;
  }
  if (expectedEpoch !== range.toEpoch) return result({ epoch: expectedEpoch, message: `epoch ${expectedEpoch} is missing` });
  onProgress?.(st.nextSeq - progressAt);

  // The stored nodes completed in this segment: those whose last leaf is in [firstSeq, endSeq).
  for (let size = NODE_MIN_SIZE; size <= range.endSeq; size *= 2) {
    const stored = createHash('sha256');
    // The aligned starts whose node ends in the segment, in order.
    let expected = Math.ceil(Math.max(0, range.firstSeq - size + 1) / size) * size;
    let aligned = true;
    for (const node of store.nodesEndingIn(size, range.firstSeq, range.endSeq)) {
      if (node.start !== expected) aligned = false;
      expected += size;
      stored.update(node.hash);
    }
    const n = (expected - Math.ceil(Math.max(0, range.firstSeq - size + 1) / size) * size) / size;
    const computed = computedNodes.get(size);
    if (!aligned || (computed === undefined) !== (n === 0) || (computed !== undefined && !computed.digest().equals(stored.digest()))) {
      return result(undefined, { message: `the stored Merkle nodes of ${size} leaves ending in entries ${range.firstSeq}..${range.endSeq - 1} are not the computed ones (wrong, missing or extra): inclusion proofs would fail` });
    }
  }
  return result();
}


/** Splits the epochs into `parts` contiguous ranges of about equal numbers of entries. */
export function planSegments(heads: EpochRecord[], parts: number): SegmentRange[] {
  const total = heads.length === 0 ? 0 : heads[heads.length - 1]!.treeSize;
  const out: SegmentRange[] = [];
  let from = 0;
  let firstSeq = 0;
  for (let k = 1; k <= parts && from < heads.length; k++) {
    const target = (total * k) / parts;
    let to = from + 1;
    while (to < heads.length && (k === parts || heads[to - 1]!.treeSize < target)) to++;
    out.push({ fromEpoch: from, toEpoch: to, firstSeq, endSeq: heads[to - 1]!.treeSize });
    firstSeq = heads[to - 1]!.treeSize;
    from = to;
  }
  return out;
}

/**
 * Joins the segments' results in order and runs the whole-ledger checks. `results[k]` is the
 * walk of `segments[k]`.
 */
function join(store: LedgerStore, genesis: Genesis, results: SegmentResult[], threads: number, t0: number): VerifyReport {
  let st = new LedgerState(genesis);
  let epochs = 0;
  const report = (problem?: Problem): VerifyReport => ({
    ok: problem === undefined,
    ...(problem ? { problem } : {}),
    entries: st.nextSeq,
    epochs,
    wallets: st.balances.size,
    supplyUj: st.supplyUj,
    mintedUj: st.mintedUj,
    burnedUj: st.burnedUj,
    nodeKey: hex(genesis.nodeKey),
    threads,
    seconds: (performance.now() - t0) / 1000,
  });
  let prevEnd: [number, string][] = [];
  for (let k = 0; k < results.length; k++) {
    const r = results[k]!;
    let seamProblem: Problem | undefined;
    if (k === 0) {
      st = LedgerState.restore(genesis, r.final);
    } else {
      if (JSON.stringify(r.startFrontier) !== JSON.stringify(prevEnd)) {
        seamProblem = { seq: r.assumptions?.firstSeq, message: `the stored Merkle nodes covering entries 0..${(r.assumptions?.firstSeq ?? 1) - 1} are not the tree of those entries` };
      } else {
        try {
          st.joinSegment({ assumptions: r.assumptions!, final: r.final });
        } catch (err) {
          if (!(err instanceof RuleError)) throw err;
          const seq = err instanceof SeamError ? err.seq : r.assumptions!.firstSeq;
          seamProblem = { seq, message: `entry ${seq} breaks ${err.message}` };
        }
      }
    }
    // The first problem in log order: a segment's own, or one its assumptions show.
    const own = r.problem;
    if (seamProblem !== undefined && (own?.seq === undefined || (seamProblem.seq ?? Infinity) <= own.seq)) return report(seamProblem);
    if (own !== undefined) {
      epochs += r.epochs;
      return report(own);
    }
    epochs += r.epochs;
    prevEnd = r.endFrontier;
  }
  // The stored nodes are checked after every entry, as a single pass does.
  const nodeProblem = results.find((r) => r.nodeProblem !== undefined)?.nodeProblem;
  if (nodeProblem !== undefined) return report(nodeProblem);
  const bad = st.checkInvariants();
  if (bad !== null) return report({ message: bad });

  // The writer's resume state must be what the log says.
  const stored = new Map(store.balances().map(([w, b, n]) => [w, { b, n }]));
  for (const [w, b] of st.balances) {
    const s = stored.get(w);
    if (epochs > 0 && (s === undefined || s.b !== b || s.n !== (st.nonces.get(w) ?? 0))) {
      return report({ message: `the stored balance of ${w} (${s?.b} µJ, nonce ${s?.n}) is not the replayed ${b} µJ (nonce ${st.nonces.get(w) ?? 0})` });
    }
  }
  for (const w of stored.keys()) if (!st.balances.has(w)) return report({ message: `the stored balances name ${w}, which no entry pays` });
  const head = store.head();
  if (epochs > 0 && (head === undefined || head.nextSeq !== st.nextSeq || head.lastHash !== hex(st.lastHash) || head.mintedUj !== st.mintedUj || head.burnedUj !== st.burnedUj || head.lastMintEndMs !== st.lastMintEndMs)) {
    return report({ message: 'the stored head state is not the replayed one (the log was cut short, or the head rewritten)' });
  }
  if (epochs === 0 && head !== undefined) return report({ message: 'a head state is stored but no epoch' });
  return report();
}

/** Verifies on this thread, in one pass. */
export function verifyLedger(store: LedgerStore, opts: VerifyOptions = {}): VerifyReport {
  store.beginRead();
  try {
    return verifyOnePass(store, opts);
  } finally {
    store.endRead();
  }
}

function verifyOnePass(store: LedgerStore, opts: VerifyOptions): VerifyReport {
  const t0 = performance.now();
  const genesis = store.genesis();
  if (genesis === undefined) return noGenesis(store, t0);
  const heads = [...store.epochs()];
  const [range] = planSegments(heads, 1);
  let done = 0;
  const results = range === undefined ? [] : [verifySegment(store, genesis, range, (n) => opts.onProgress?.((done += n)))];
  return join(store, genesis, results, 1, t0);
}

export interface ParallelOptions extends VerifyOptions {
  /** Threads (default: the machine's, at most 8). */
  threads?: number;
  /** Below this many entries per thread, one thread does it all (default 100,000). */
  minEntriesPerThread?: number;
}

/** Verifies the ledger file at `store.path` on several threads when it is big enough, else as verifyLedger. */
export async function verifyLedgerParallel(store: LedgerStore, opts: ParallelOptions = {}): Promise<VerifyReport> {
  // One snapshot for everything this thread reads (the epochs, the first segment, the stored
  // balances and head): a writer committing meanwhile must not make a sound ledger look corrupt.
  // The workers read only the epochs listed here, which no commit changes.
  store.beginRead();
  try {
    return await verifyParallelIn(store, opts);
  } finally {
    store.endRead();
  }
}

async function verifyParallelIn(store: LedgerStore, opts: ParallelOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const genesis = store.genesis();
  if (genesis === undefined) return noGenesis(store, t0);
  const heads = [...store.epochs()];
  const total = heads.length === 0 ? 0 : heads[heads.length - 1]!.treeSize;
  const want = Math.min(opts.threads ?? Math.min(8, availableParallelism()), Math.floor(total / (opts.minEntriesPerThread ?? 100_000)), heads.length);
  if (want <= 1 || store.path === ':memory:') return verifyLedger(store, opts);
  const segments = planSegments(heads, want);
  let done = 0;
  // The first segment runs on this thread (its modules are loaded and its store is open: a
  // worker costs ~80 ms to start), the others on workers meanwhile.
  const progress = (n: number) => opts.onProgress?.((done += n));
  const others = segments.slice(1).map((range) => runWorker(store.path, range, progress));
  others.forEach((p) => p.catch(() => {})); // awaited below; no unhandled rejection meanwhile
  const first = verifySegment(store, genesis, segments[0]!, progress);
  const results = [first, ...(await Promise.all(others))];
  return join(store, genesis, results, segments.length, t0);
}

function runWorker(path: string, range: SegmentRange, onProgress: (n: number) => void): Promise<SegmentResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { path, range } });
    let result: SegmentResult | undefined;
    w.on('message', (m: { progress?: number; result?: SegmentResult }) => {
      if (m.progress !== undefined) onProgress(m.progress);
      if (m.result !== undefined) result = m.result;
    });
    w.on('error', reject);
    w.on('exit', (code) => (result !== undefined ? resolve(result) : reject(new Error(`a verify worker exited with code ${code} and no result`))));
  });
}

function noGenesis(store: LedgerStore, t0: number): VerifyReport {
  return {
    ok: false,
    problem: { message: `${store.path} has no genesis record: not a Maxwell ledger, or an empty one` },
    entries: 0, epochs: 0, wallets: 0, supplyUj: 0, mintedUj: 0, burnedUj: 0, threads: 1, seconds: (performance.now() - t0) / 1000,
  };
}
