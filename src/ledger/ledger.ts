/**
 * The ledger writer: turns operations (mint, grant, transfer, charge, rent, erasure tax,
 * reward, burn, death) into entries, checks each against the validity rules (state.ts) before
 * it is appended, and seals the appended entries into signed epochs (one Ed25519 signature and
 * one SQLite transaction per epoch, TigerBeetle-style batching).
 *
 * Operations apply at once in memory (balances move, the entry has its sequence number) and
 * become durable when their epoch commits: `seal()` (called every `epochMs` by `tick()`, or when
 * `epochMaxEntries` are pending) returns after the store's commit, i.e. after fsync. A crash
 * loses the unsealed tail, whole; the next open resumes at the last durable epoch.
 *
 * Input that breaks a rule is refused with a MaxwellError (a stable code) and changes nothing;
 * a payer that cannot cover an amount gets `{ kind: 'insufficient_funds' }`, a value. An entry
 * that the writer built and the rules then refuse is a bug: an assertion.
 */
import { AssertionError, assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import {
  Basis, chargeAmountUj, DeathReason, encodeEntry, epochMessage, hex, leafHash, leafHashLatinAt, MAX_UJ, transferMessage, WALLET_BYTES, ZERO_WALLET,
  type BasisName, type DeathReasonName, type Entry, type Genesis,
} from './format.js';
import { signWith, type KeyPair } from './keys.js';
import { MerkleFrontier } from './merkle.js';
import { LedgerState, RuleError, verifyEd25519 } from './state.js';
import { NODE_MIN_SIZE, packWalletIndex, type EpochBatch, type EpochRecord, type LedgerStore } from './store.js';

export interface LedgerInit {
  store: LedgerStore;
  /** The node's key pair: its public key is the treasury wallet and the ledger's identity. */
  nodeKey: KeyPair;
  /** The node's power cap (W): the mint accrues at most this much energy per second. */
  powerCapW: number;
  /** The most the power cap may ever be, fixed at genesis (default: powerCapW). */
  maxPowerCapW?: number;
  /** Seal an epoch at least this often while entries are pending (ms). */
  epochMs?: number;
  /** Seal an epoch when this many entries are pending. */
  epochMaxEntries?: number;
  /** The node's clock (ms since the Unix epoch). */
  now?: () => number;
  /** Told when a seal on start()'s timer fails (default: printed on stderr); the ledger then refuses writes. */
  onError?: (err: Error) => void;
}

export type Outcome =
  | { kind: 'ok'; seq: number; amountUj: number }
  | { kind: 'insufficient_funds'; needUj: number; haveUj: number };

export interface ChargeInput {
  wallet: Buffer;
  pid: number;
  fuel: number;
  energyUj: number;
  /** Price in micro-tokens per joule (1,000,000 = 1 token/J). */
  priceUtPerJ: number;
  basis: BasisName;
}

export interface SignedTransfer {
  from: Buffer;
  to: Buffer;
  amountUj: number;
  nonce: number;
  signature: Buffer;
}

export const DEFAULT_EPOCH_MS = 100;
export const DEFAULT_EPOCH_MAX_ENTRIES = 65_536;
const MAX_PID = 0xffff_ffff;

/** Why the ledger stopped accepting writes. */
const stoppedMessage = (cause: string) => `the ledger stopped after a failed commit (${cause}); reopen it to resume from the last durable epoch`;

export class Ledger {
  readonly store: LedgerStore;
  readonly nodeKey: KeyPair;
  readonly genesis: Genesis;
  private readonly state: LedgerState;
  private readonly frontier: MerkleFrontier;
  private readonly now: () => number;
  private readonly epochMs: number;
  private readonly epochMaxEntries: number;
  private powerCapMw: number;
  /** The entries appended since the last seal, and their leaf hashes (latin1 strings). */
  private pending: Buffer[] = [];
  private pendingHashes: string[] = [];
  private pendingFirstSeq = 0;
  private pendingNodes: { start: number; size: number; hash: Buffer }[] = [];
  /** The pending entries' seqs by wallet (partiesOf): the receipts' index, and the wallets whose balances to store. */
  private pendingWallets = new Map<string, number[]>();
  private readonly onNode = (start: number, size: number, hash: string): void => {
    if (size >= NODE_MIN_SIZE) this.pendingNodes.push({ start, size, hash: Buffer.from(hash, 'latin1') });
  };
  private nextEpoch: number;
  private lastSealMs: number;
  private failed: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onError: ((err: Error) => void) | undefined;
  /** The last durable epoch, if any. */
  lastEpoch: EpochRecord | undefined;

  private constructor(init: LedgerInit, genesis: Genesis, state: LedgerState, frontier: MerkleFrontier, last: EpochRecord | undefined) {
    this.store = init.store;
    this.nodeKey = init.nodeKey;
    this.genesis = genesis;
    this.state = state;
    this.frontier = frontier;
    this.now = init.now ?? Date.now;
    this.epochMs = init.epochMs ?? DEFAULT_EPOCH_MS;
    this.epochMaxEntries = init.epochMaxEntries ?? DEFAULT_EPOCH_MAX_ENTRIES;
    this.powerCapMw = Math.round(init.powerCapW * 1000);
    this.lastEpoch = last;
    this.nextEpoch = last === undefined ? 0 : last.epoch + 1;
    this.lastSealMs = this.now();
    this.onError = init.onError;
  }

  /** Opens the ledger in `init.store`, creating it (its genesis) if the store is empty. */
  static open(init: LedgerInit): Ledger {
    const now = init.now ?? Date.now;
    const capW = init.powerCapW;
    const maxW = init.maxPowerCapW ?? capW;
    if (!(Math.round(capW * 1000) >= 1) || !(maxW >= capW) || maxW * 1000 > 1e9) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `the power cap must be in [0.001, ${maxW}] W and the maximum at most 1 MW, not ${capW} W (max ${maxW} W)`);
    }
    if (init.epochMs !== undefined && !(init.epochMs >= 1 && init.epochMs <= 60_000)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `epochMs must be in [1, 60000], not ${init.epochMs}`);
    if (init.epochMaxEntries !== undefined && !(Number.isInteger(init.epochMaxEntries) && init.epochMaxEntries >= 1 && init.epochMaxEntries <= 1_000_000)) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `epochMaxEntries must be an integer in [1, 10^6], not ${init.epochMaxEntries}`);
    }
    const store = init.store;
    let genesis = store.genesis();
    if (genesis === undefined) {
      genesis = { nodeKey: init.nodeKey.raw, genesisTimeMs: Math.floor(now()), maxPowerCapMw: Math.round(maxW * 1000) };
      store.init(genesis);
    }
    if (!genesis.nodeKey.equals(init.nodeKey.raw)) {
      throw new MaxwellError(ErrorCode.KEY_INVALID, `the ledger at ${store.path} belongs to node ${hex(genesis.nodeKey)}, not to this key (${hex(init.nodeKey.raw)})`);
    }
    if (Math.round(capW * 1000) > genesis.maxPowerCapMw) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `the power cap ${capW} W is above this ledger's maximum of ${genesis.maxPowerCapMw / 1000} W, fixed when it was created`);
    }
    const last = store.lastEpoch();
    if (last === undefined) return new Ledger(init, genesis, new LedgerState(genesis), new MerkleFrontier(), undefined);

    // Resume from the last durable epoch, and check what was read back (the pair of the checks
    // made before the write): the head state agrees with the epoch, the balances with the supply,
    // and the Merkle frontier rebuilt from the stored nodes with the signed root.
    const head = store.head();
    const corrupt = (why: string) => new MaxwellError(ErrorCode.LEDGER_CORRUPT, `${store.path}: ${why}; run \`maxwell ledger verify\``);
    if (head === undefined) throw corrupt('epochs are stored but the head state is missing');
    const balances = store.balances();
    const state = LedgerState.restore(genesis, {
      ...head,
      balances: balances.map(([w, b]) => [w, b]),
      nonces: balances.filter(([, , n]) => n > 0).map(([w, , n]) => [w, n]),
    });
    if (head.nextSeq !== last.treeSize) throw corrupt(`the head state is at seq ${head.nextSeq} but epoch ${last.epoch} ends at ${last.treeSize}`);
    const bad = state.checkInvariants();
    if (bad !== null) throw corrupt(bad);
    const frontier = MerkleFrontier.fromSource(store, last.treeSize);
    if (!frontier.root().equals(last.root)) throw corrupt(`the stored Merkle nodes do not give epoch ${last.epoch}'s root`);
    const tail = [...store.entries(last.treeSize - 1, last.treeSize)][0];
    if (tail === undefined || !leafHash(tail.bytes).equals(state.lastHash)) throw corrupt(`the last entry (${last.treeSize - 1}) does not match the head state's hash`);
    return new Ledger(init, genesis, state, frontier, last);
  }

  get nodeWallet(): Buffer {
    return this.nodeKey.raw;
  }
  get supplyUj(): number {
    return this.state.supplyUj;
  }
  get mintedUj(): number {
    return this.state.mintedUj;
  }
  get burnedUj(): number {
    return this.state.burnedUj;
  }
  /** Entries appended so far (durable or not). */
  get size(): number {
    return this.state.nextSeq;
  }
  /** Entries appended but not yet durable. */
  get pendingCount(): number {
    return this.pending.length;
  }
  /** The current power cap (W). */
  get powerCapW(): number {
    return this.powerCapMw / 1000;
  }

  /** Balance in µJ, or undefined for a wallet the ledger has never paid. Includes entries not yet durable. */
  balanceOf(wallet: Buffer): number | undefined {
    return this.state.balanceOf(wallet);
  }

  /** The nonce the wallet's next transfer must carry. */
  nextNonce(wallet: Buffer): number {
    return (this.state.nonces.get(hex(wallet)) ?? 0) + 1;
  }

  /** Changes the power cap for mints from now on (≤ the maximum fixed at genesis). */
  setPowerCap(powerCapW: number): void {
    const mw = Math.round(powerCapW * 1000);
    if (!(mw > 0) || mw > this.genesis.maxPowerCapMw) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `the power cap must be in (0, ${this.genesis.maxPowerCapMw / 1000}] W, not ${powerCapW}`);
    }
    this.powerCapMw = mw;
  }

  /**
   * Mints into the treasury what the power cap has accrued since the last mint (at most up to
   * now, and at most `maxUj`). Rewards down: a partial microjoule is not minted. With `maxUj`
   * below what accrued, the mint covers whole milliseconds: the period ends at the first
   * millisecond that covers the amount, and what accrued in that last millisecond beyond the
   * amount is given up (never minted later), so the bound holds and no token is created.
   */
  mint(maxUj = MAX_UJ): Outcome | { kind: 'nothing_accrued' } {
    this.checkAmount(maxUj, 'the most to mint');
    const t = this.time();
    const start = this.state.lastMintEndMs;
    let end = t;
    const accrued = this.powerCapMw * Math.max(0, end - start);
    let amount = Math.min(accrued, maxUj, MAX_UJ - this.state.supplyUj);
    if (amount <= 0) return { kind: 'nothing_accrued' };
    if (amount < accrued) {
      // Mint for the whole milliseconds the amount needs; the rest of the period still accrues.
      end = start + Math.ceil(amount / this.powerCapMw);
      amount = Math.min(amount, this.powerCapMw * (end - start));
    }
    return this.append('mint', ZERO_WALLET, this.nodeWallet, amount, { periodStartMs: start, periodEndMs: end, powerCapMw: this.powerCapMw });
  }

  /** Operator → wallet, from the treasury. */
  grant(to: Buffer, amountUj: number): Outcome {
    this.checkWallet(to, 'the wallet granted to');
    if (to.equals(this.nodeWallet)) throw new MaxwellError(ErrorCode.WALLET_INVALID, 'the node cannot grant to its own treasury');
    this.checkAmount(amountUj);
    return this.pay('grant', this.nodeWallet, to, amountUj, {});
  }

  /** A wallet → another, signed by the sender over transferMessage with its next nonce. */
  transfer(t: SignedTransfer): Outcome {
    this.checkWallet(t.from, 'the sender');
    this.checkWallet(t.to, 'the payee');
    this.checkAmount(t.amountUj);
    if (t.from.equals(t.to)) throw new MaxwellError(ErrorCode.WALLET_INVALID, 'a transfer needs two distinct wallets');
    if (t.from.equals(this.nodeWallet) || t.to.equals(this.nodeWallet)) throw new MaxwellError(ErrorCode.WALLET_INVALID, 'the treasury grants and is paid by charges; it does not transfer');
    this.checkKnown(t.from, 'the sender');
    this.checkKnown(t.to, 'the payee');
    const expected = this.nextNonce(t.from);
    if (!Number.isSafeInteger(t.nonce) || t.nonce !== expected) {
      throw new MaxwellError(ErrorCode.NONCE_INVALID, `the transfer's nonce is ${t.nonce}, the sender's next is ${expected}${Number.isSafeInteger(t.nonce) && t.nonce < expected ? ' (a replay)' : ''}`, { nonce: t.nonce, expected });
    }
    if (!Buffer.isBuffer(t.signature) || t.signature.length !== 64 || !verifyEd25519(t.from, transferMessage(this.nodeWallet, t.from, t.to, t.amountUj, t.nonce), t.signature)) {
      throw new MaxwellError(ErrorCode.SIGNATURE_INVALID, 'the transfer\'s signature does not verify with the sender\'s key');
    }
    return this.pay('transfer', t.from, t.to, t.amountUj, { nonce: t.nonce, signature: t.signature });
  }

  /** Energy × price, attested by the node's meter; rounds up. */
  charge(c: ChargeInput): Outcome {
    this.checkWallet(c.wallet, 'the payer');
    this.checkPid(c.pid);
    this.checkCount(c.fuel, 'fuel');
    this.checkCount(c.energyUj, 'energyUj');
    this.checkCount(c.priceUtPerJ, 'priceUtPerJ');
    if (!Object.hasOwn(Basis, c.basis)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a charge's basis is measured or estimated, not ${String(c.basis)}`);
    const amount = chargeAmountUj(c.energyUj, c.priceUtPerJ);
    if (!Number.isSafeInteger(amount)) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `${c.energyUj} µJ at ${c.priceUtPerJ} µtokens/J overflows ${MAX_UJ} µJ`);
    if (amount === 0) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, 'a charge of no energy or at price 0 is not an entry');
    return this.payNode('charge', c.wallet, amount, { pid: c.pid, fuel: c.fuel, energyUj: c.energyUj, priceUtPerJ: c.priceUtPerJ, basis: c.basis });
  }

  rent(r: { wallet: Buffer; pid: number; periodMs: number; memoryBytes: number; amountUj: number }): Outcome {
    this.checkWallet(r.wallet, 'the payer');
    this.checkPid(r.pid);
    if (!Number.isInteger(r.periodMs) || r.periodMs < 0 || r.periodMs > 0xffff_ffff) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a rent period is an integer number of ms below 2^32, not ${r.periodMs}`);
    this.checkCount(r.memoryBytes, 'memoryBytes');
    this.checkAmount(r.amountUj);
    return this.payNode('rent', r.wallet, r.amountUj, { pid: r.pid, periodMs: r.periodMs, memoryBytes: r.memoryBytes });
  }

  erasureTax(t: { wallet: Buffer; pid: number; bytes: number; amountUj: number }): Outcome {
    this.checkWallet(t.wallet, 'the payer');
    this.checkPid(t.pid);
    this.checkCount(t.bytes, 'bytes');
    this.checkAmount(t.amountUj);
    return this.payNode('erasure_tax', t.wallet, t.amountUj, { pid: t.pid, bytes: t.bytes });
  }

  /** Treasury → wallet, for verified work (rounded down by the caller: pass whole µJ). */
  reward(r: { wallet: Buffer; pid: number; milliBits: number; amountUj: number }): Outcome {
    this.checkWallet(r.wallet, 'the wallet rewarded');
    if (r.wallet.equals(this.nodeWallet)) throw new MaxwellError(ErrorCode.WALLET_INVALID, 'the treasury does not reward itself');
    this.checkPid(r.pid);
    this.checkCount(r.milliBits, 'milliBits');
    this.checkAmount(r.amountUj);
    return this.pay('reward', this.nodeWallet, r.wallet, r.amountUj, { pid: r.pid, milliBits: r.milliBits });
  }

  /**
   * Requester → treasury: the fee for the queries (`samples` in all) given to process `pid`.
   * The node sets the fee at least at the most the queries' answers could earn in rewards, so
   * that a requester colluding with an agent cannot farm the mint (docs/proof.md).
   */
  queryFee(f: { wallet: Buffer; pid: number; samples: number; amountUj: number }): Outcome {
    this.checkWallet(f.wallet, 'the requester');
    this.checkPid(f.pid);
    this.checkCount(f.samples, 'samples');
    this.checkAmount(f.amountUj);
    return this.payNode('query_fee', f.wallet, f.amountUj, { pid: f.pid, samples: f.samples });
  }

  /** Destroys treasury tokens (supply falls). */
  burn(amountUj: number): Outcome {
    this.checkAmount(amountUj);
    return this.pay('burn', this.nodeWallet, ZERO_WALLET, amountUj, {});
  }

  /** A process's death, with the erasure tax collected from its bond (may be 0). */
  death(d: { wallet: Buffer; pid: number; reason: DeathReasonName; amountUj: number }): Outcome {
    this.checkWallet(d.wallet, 'the payer');
    this.checkPid(d.pid);
    if (!Number.isSafeInteger(d.amountUj) || d.amountUj < 0) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `a death's tax is a non-negative safe integer of µJ, not ${d.amountUj}`);
    if (!Object.hasOwn(DeathReason, d.reason)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a death's reason is one of ${Object.keys(DeathReason).join(', ')}, not ${String(d.reason)}`);
    return this.payNode('death', d.wallet, d.amountUj, { pid: d.pid, reason: d.reason });
  }

  /** Seals the pending entries into a signed epoch and commits it; returns when it is durable (undefined if nothing was pending). */
  seal(): EpochRecord | undefined {
    this.checkRunning();
    this.lastSealMs = this.now();
    if (this.pending.length === 0) return undefined;
    const bad = this.state.checkInvariants();
    assert(bad === null, bad ?? '');
    // Epoch times never decrease either (receipts find epochs by time).
    const head = { epoch: this.nextEpoch, treeSize: this.frontier.size, timeMs: Math.max(this.time(), this.lastEpoch?.timeMs ?? 0), root: this.frontier.root() };
    const record: EpochRecord = { ...head, signature: signWith(this.nodeKey, epochMessage(this.nodeWallet, head)) };
    const balances: [string, number, number][] = [];
    const s = this.state;
    // Every entry pays or is paid by the node, or is a transfer between two indexed wallets.
    for (const w of new Set([s.nodeHex, ...this.pendingWallets.keys()])) balances.push([w, s.balances.get(w)!, s.nonces.get(w) ?? 0]);
    const batch: EpochBatch = {
      epoch: record,
      firstSeq: this.pendingFirstSeq,
      count: this.pending.length,
      entries: Buffer.concat(this.pending),
      hashes: Buffer.from(this.pendingHashes.join(''), 'latin1'),
      nodes: this.pendingNodes,
      walletIndex: packWalletIndex(this.pendingWallets, this.pendingFirstSeq),
      balances,
      head: { nextSeq: s.nextSeq, lastHash: hex(s.lastHash), lastTimeMs: s.lastTimeMs, mintedUj: s.mintedUj, burnedUj: s.burnedUj, lastMintEndMs: s.lastMintEndMs },
    };
    try {
      this.store.commit(batch);
    } catch (err) {
      // Memory is ahead of the store now: refuse further writes rather than sign a log with a hole.
      this.failed = (err as Error).message;
      this.stop();
      throw err;
    }
    this.pending = [];
    this.pendingHashes = [];
    this.pendingFirstSeq = this.state.nextSeq;
    this.pendingNodes = [];
    this.pendingWallets = new Map();
    this.nextEpoch++;
    this.lastEpoch = record;
    return record;
  }

  /** Seals if an epoch is due (epochMs since the last seal, with entries pending). */
  tick(): EpochRecord | undefined {
    if (this.pending.length > 0 && this.now() - this.lastSealMs >= this.epochMs) return this.seal();
    return undefined;
  }

  /** Seals every epochMs on a timer (js-libp2p style start/stop). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        // seal() has already stopped the ledger (writes now fail with E_NODE_STOPPED): say why
        // once, rather than let a timer callback's exception take the process down.
        (this.onError ?? ((e: Error) => console.error(`maxwell ledger: ${e.message}`)))(err as Error);
      }
    }, this.epochMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Seals what is pending and closes the store. */
  close(): void {
    this.stop();
    if (this.failed === undefined) this.seal();
    this.store.close();
  }

  // ---- internals ----

  private index(w: string, seq: number): void {
    const seqs = this.pendingWallets.get(w);
    if (seqs === undefined) this.pendingWallets.set(w, [seq]);
    else seqs.push(seq);
  }

  private time(): number {
    // Entry times never decrease, even if the wall clock steps back.
    return Math.max(Math.floor(this.now()), this.state.lastTimeMs);
  }

  private checkRunning(): void {
    if (this.failed !== undefined) throw new MaxwellError(ErrorCode.NODE_STOPPED, stoppedMessage(this.failed));
  }

  private checkWallet(w: Buffer, what: string): void {
    if (!Buffer.isBuffer(w) || w.length !== WALLET_BYTES || w.equals(ZERO_WALLET)) {
      throw new MaxwellError(ErrorCode.WALLET_INVALID, `${what} must be a ${WALLET_BYTES}-byte public key (not all zeros)`);
    }
  }

  private checkKnown(w: Buffer, what: string): void {
    if (this.state.balanceOf(w) === undefined) throw new MaxwellError(ErrorCode.WALLET_UNKNOWN, `${what} ${hex(w)} is not a wallet of this ledger (it has never been paid)`, { wallet: hex(w) });
  }

  private checkAmount(uj: number, what = 'an amount'): void {
    if (!Number.isSafeInteger(uj) || uj <= 0) {
      throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `${what} must be a positive whole number of µJ below 2^53, not ${uj}`, { amountUj: uj });
    }
  }

  private checkCount(x: number, what: string): void {
    if (!Number.isSafeInteger(x) || x < 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${what} must be a non-negative safe integer, not ${x}`);
  }

  private checkPid(pid: number): void {
    if (!Number.isInteger(pid) || pid < 0 || pid > MAX_PID) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a pid is an integer in [0, 2^32), not ${pid}`);
  }

  private payNode(kind: 'charge' | 'rent' | 'erasure_tax' | 'death' | 'query_fee', wallet: Buffer, amountUj: number, body: object): Outcome {
    if (wallet.equals(this.nodeWallet)) throw new MaxwellError(ErrorCode.WALLET_INVALID, `the treasury does not pay itself a ${kind}`);
    this.checkKnown(wallet, 'the payer');
    return this.pay(kind, wallet, this.nodeWallet, amountUj, body);
  }

  private pay(kind: Entry['kind'], from: Buffer, to: Buffer, amountUj: number, body: object): Outcome {
    this.checkRunning();
    const have = this.state.balanceOf(from) ?? 0;
    if (have < amountUj) return { kind: 'insufficient_funds', needUj: amountUj, haveUj: have };
    if (!to.equals(ZERO_WALLET) && (this.state.balanceOf(to) ?? 0) + amountUj > MAX_UJ) {
      throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `the payee's balance would exceed ${MAX_UJ} µJ`);
    }
    return this.append(kind, from, to, amountUj, body);
  }

  /**
   * Completes `body` (the kind's own fields) into the next entry, checks it against the rules,
   * and appends it. The common fields are assigned onto the caller's object rather than spread
   * into a new one: this is the path every charge takes.
   */
  private append(kind: Entry['kind'], from: Buffer, to: Buffer, amountUj: number, body: object): Outcome {
    this.checkRunning();
    const s = this.state;
    const fromZero = from.equals(ZERO_WALLET);
    const toZero = to.equals(ZERO_WALLET);
    const e = body as Entry;
    e.kind = kind;
    e.seq = s.nextSeq;
    e.timeMs = this.time();
    e.prevHash = s.lastHash;
    e.from = from;
    e.to = to;
    e.amountUj = amountUj;
    e.fromBalanceUj = fromZero ? 0 : s.balanceOf(from)! - amountUj;
    e.toBalanceUj = toZero ? 0 : (s.balanceOf(to) ?? 0) + amountUj;
    const bytes = encodeEntry(e);
    const leaf = leafHashLatinAt(bytes, 0, bytes.length);
    try {
      s.apply(e, leaf);
    } catch (err) {
      if (err instanceof RuleError) throw new AssertionError(`invariant broken: the writer built an entry its own rules refuse (${err.message})`);
      throw err;
    }
    if (this.pending.length === 0) this.pendingFirstSeq = e.seq;
    this.pending.push(bytes);
    this.pendingHashes.push(leaf);
    this.frontier.pushLatin(leaf, this.onNode);
    this.index(s.lastParty, e.seq);
    if (s.lastParty2 !== null) this.index(s.lastParty2, e.seq);
    if (this.pending.length >= this.epochMaxEntries) this.seal();
    return { kind: 'ok', seq: e.seq, amountUj: e.amountUj };
  }
}
