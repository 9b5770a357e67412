// Receipts (src/ledger/receipt.ts): a wallet's bill, checkable offline with the node's public key.
//
// Three kinds of bill are checked here:
//   - honest bills made by makeReceipt from a ledger the real Ledger wrote;
//   - bills changed after signing by someone without the node's key (every change must fail, with
//     a message that says what is wrong);
//   - bills the NODE signed, so that the signatures hold and only the per-line checks can catch
//     them: lines left out of an honest bill (re-signed, totals recomputed), and bills over a log
//     that breaks a rule (a "paper log" below: entries chained, hashed into an RFC 6962 tree whose
//     root the node signs as an epoch head, with real inclusion proofs).
// The ends of a bill are a documented limitation (docs/ledger.md, threat model): a test pins it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MaxwellError } from '../../src/errors.js';
import {
  decodeEntry, encodeEntry, epochMessage, genesisHash, hex, leafHash, nodeHash, transferMessage, ZERO_WALLET,
  type BasisName, type Entry, type Genesis,
} from '../../src/ledger/format.js';
import { generateKey, signWith, type KeyPair } from '../../src/ledger/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { inclusionProof, treeHash, type SubtreeSource } from '../../src/ledger/merkle.js';
import {
  canonicalJson, describeEntry, makeReceipt, RECEIPT_FORMAT, verifyReceipt, type Receipt, type ReceiptItem, type ReceiptTotals,
} from '../../src/ledger/receipt.js';
import { SqliteStore } from '../../src/ledger/sqlite-store.js';

const T0 = 1_770_000_000_000;
const NODE = generateKey();
const OTHER_NODE = generateKey();
const A = generateKey();
const B = generateKey();
const C = generateKey();
/** Never paid by the ledger. */
const STRANGER = generateKey();
const ALL_TIME: [number, number] = [0, Number.MAX_SAFE_INTEGER];

// ---------- bills: totals, digests, signatures ----------

const entryOf = (it: ReceiptItem): Entry => decodeEntry(Buffer.from(it.entry, 'hex'));
const balanceAfter = (e: Entry, w: Buffer) => (e.from.equals(w) ? e.fromBalanceUj : e.toBalanceUj);

/** The totals of a bill's items, computed here from the entries (what receipt.ts's addToTotals must give). */
function totalsOf(items: ReceiptItem[], wallet: Buffer): ReceiptTotals {
  const t: ReceiptTotals = {
    entries: 0, charged_uj: 0, fuel: 0, energy_uj: 0, rent_uj: 0, erasure_tax_uj: 0, death_uj: 0, rewards_uj: 0, query_fees_uj: 0, granted_uj: 0,
    transferred_in_uj: 0, transferred_out_uj: 0, epochs: [],
  };
  for (const it of items) {
    const e = entryOf(it);
    t.entries++;
    if (t.epochs[t.epochs.length - 1] !== it.epoch) t.epochs.push(it.epoch);
    switch (e.kind) {
      case 'charge': t.charged_uj += e.amountUj; t.fuel += e.fuel; t.energy_uj += e.energyUj; break;
      case 'rent': t.rent_uj += e.amountUj; break;
      case 'erasure_tax': t.erasure_tax_uj += e.amountUj; break;
      case 'death': t.death_uj += e.amountUj; break;
      case 'reward': t.rewards_uj += e.amountUj; break;
      case 'query_fee': t.query_fees_uj += e.amountUj; break;
      case 'grant': t.granted_uj += e.amountUj; break;
      case 'transfer': if (e.to.equals(wallet)) t.transferred_in_uj += e.amountUj; else t.transferred_out_uj += e.amountUj; break;
      default: break;
    }
  }
  return t;
}

/** What the node signs for a bill: "maxwell-receipt-v1" ‖ SHA-256(canonical JSON of the bill without its signature). */
function billDigest(body: Omit<Receipt, 'signature'>): Buffer {
  return Buffer.concat([Buffer.from('maxwell-receipt-v1'), createHash('sha256').update(canonicalJson(body)).digest()]);
}

/** `r` with its totals and closing balance recomputed from its items, signed with `key` (the node's, by default): a bill the node itself issued. */
function nodeSigned(r: Receipt, key: KeyPair = NODE): Receipt {
  const wallet = Buffer.from(r.wallet, 'hex');
  const last = r.items[r.items.length - 1];
  const { signature: _old, ...rest } = r;
  const body: Omit<Receipt, 'signature'> = { ...rest, totals: totalsOf(r.items, wallet), closing_balance_uj: last === undefined ? null : balanceAfter(entryOf(last), wallet) };
  return { ...body, signature: hex(signWith(key, billDigest(body))) };
}

/** A deep copy, as a payer holding the JSON would edit it. */
const copy = (r: Receipt): Receipt => JSON.parse(JSON.stringify(r)) as Receipt;

function expectInvalid(r: unknown, why: RegExp, key: Buffer = NODE.raw): void {
  const c = verifyReceipt(r, key);
  assert.equal(c.ok, false, 'the bill must not verify');
  assert.match(c.problem!, why);
}

function expectThrows(f: () => unknown, code: string, why?: RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof MaxwellError, String(err));
    assert.equal(err.code, code, err.message);
    if (why !== undefined) assert.match(err.message, why);
    return true;
  });
}

// ---------- a paper log: what a node can sign without a store ----------

type Body =
  | { kind: 'mint'; periodStartMs: number; periodEndMs: number; powerCapMw: number }
  | { kind: 'grant' }
  | { kind: 'transfer'; nonce: number; signature: Buffer }
  | { kind: 'charge'; pid: number; fuel: number; energyUj: number; priceUtPerJ: number; basis: BasisName };

/**
 * A log the node makes up and signs: entries with the seq and prevHash chain and the balances
 * its own books give (or the amounts and signatures it chooses), hashed into the RFC 6962 tree;
 * bill() signs the tree's root as an epoch head and the bill of one wallet with real inclusion
 * proofs. No rule is checked: a dishonest node's log.
 */
class PaperLog {
  readonly genesis: Genesis = { nodeKey: NODE.raw, genesisTimeMs: T0, maxPowerCapMw: 1_000_000 };
  readonly bytes: Buffer[] = [];
  readonly leaves: Buffer[] = [];
  private readonly balances = new Map<string, number>();
  private lastHash = genesisHash(this.genesis);
  private timeMs = T0 + 10_000;

  constructor() {
    this.append({ kind: 'mint', periodStartMs: T0, periodEndMs: T0 + 10_000, powerCapMw: 100_000 }, ZERO_WALLET, NODE.raw, 1_000_000_000);
  }

  append(body: Body, from: Buffer, to: Buffer, amountUj: number): number {
    const bal = (w: Buffer) => this.balances.get(hex(w)) ?? 0;
    const seq = this.bytes.length;
    const e = {
      ...body, seq, timeMs: this.timeMs++, prevHash: this.lastHash, from, to, amountUj,
      fromBalanceUj: from.equals(ZERO_WALLET) ? 0 : bal(from) - amountUj,
      toBalanceUj: to.equals(ZERO_WALLET) ? 0 : bal(to) + amountUj,
    } as Entry;
    const bytes = encodeEntry(e);
    if (!from.equals(ZERO_WALLET)) this.balances.set(hex(from), e.fromBalanceUj);
    if (!to.equals(ZERO_WALLET)) this.balances.set(hex(to), e.toBalanceUj);
    this.bytes.push(bytes);
    this.leaves.push(leafHash(bytes));
    this.lastHash = this.leaves[seq]!;
    return seq;
  }
  grant(to: KeyPair, amountUj: number): number {
    return this.append({ kind: 'grant' }, NODE.raw, to.raw, amountUj);
  }
  /** A charge of `energyUj` at 1 token/J, billed `amountUj` (due: energyUj). */
  charge(w: KeyPair, energyUj: number, amountUj = energyUj): number {
    return this.append({ kind: 'charge', pid: 9, fuel: 3 * energyUj, energyUj, priceUtPerJ: 1_000_000, basis: 'measured' }, w.raw, NODE.raw, amountUj);
  }
  /** A transfer signed by `signer` (the sender, unless told otherwise). */
  transfer(from: KeyPair, to: KeyPair, amountUj: number, nonce: number, signer: KeyPair = from): number {
    const signature = signWith(signer, transferMessage(NODE.raw, from.raw, to.raw, amountUj, nonce));
    return this.append({ kind: 'transfer', nonce, signature }, from.raw, to.raw, amountUj);
  }

  /** The node's signed bill of `wallet`: every entry of the log that involves it, but those `omit` names. */
  bill(wallet: KeyPair, omit: number[] = []): Receipt {
    const n = this.leaves.length;
    const src: SubtreeSource = { subtree: (start, size) => perfectRoot(this.leaves.slice(start, start + size)) };
    const root = treeHash(src, 0, n);
    const head = { epoch: 0, treeSize: n, timeMs: this.timeMs, root };
    const items: ReceiptItem[] = [];
    for (let seq = 0; seq < n; seq++) {
      const e = decodeEntry(this.bytes[seq]!);
      if ((!e.from.equals(wallet.raw) && !e.to.equals(wallet.raw)) || omit.includes(seq)) continue;
      items.push({ seq, epoch: 0, entry: hex(this.bytes[seq]!), proof: inclusionProof(src, seq, n).map(hex), decoded: describeEntry(e) });
    }
    const unsigned: Receipt = {
      format: RECEIPT_FORMAT, node_key: hex(NODE.raw), wallet: hex(wallet.raw), from_ms: ALL_TIME[0], to_ms: ALL_TIME[1],
      head: { epoch: 0, tree_size: n, time_ms: head.timeMs, root: hex(root), signature: hex(signWith(NODE, epochMessage(NODE.raw, head))) },
      items, totals: totalsOf([], wallet.raw), closing_balance_uj: null, signature: '',
    };
    return nodeSigned(unsigned);
  }
}

function perfectRoot(leaves: Buffer[]): Buffer {
  let level = leaves;
  while (level.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
    level = up;
  }
  return level[0]!;
}

/** A paper log where A is granted 1,000,000 µJ and B and C are funded too. */
function paperWithWallets(): PaperLog {
  const p = new PaperLog();
  p.grant(A, 1_000_000);
  p.grant(B, 1_000_000);
  p.grant(C, 1_000_000);
  return p;
}

// ---------- an honest ledger, by the real writer ----------

let dir: string;
let store: SqliteStore;
/** A's entries (seqs), in order. */
const aSeqs: number[] = [];

function buildHonest(path: string): void {
  let now = T0;
  const L = Ledger.open({ store: new SqliteStore(path), nodeKey: NODE, powerCapW: 100, epochMaxEntries: 4, now: () => now });
  const step = () => (now += 5);
  const mine = (o: { kind: string; seq?: number }) => {
    assert.equal(o.kind, 'ok');
    aSeqs.push((o as { seq: number }).seq);
  };
  now += 10_000;
  L.mint();
  mine(L.grant(A.raw, 10_000_000));
  L.grant(B.raw, 5_000_000);
  for (let i = 0; i < 6; i++) {
    step();
    mine(L.charge({ wallet: A.raw, pid: 1, fuel: 100 + i, energyUj: 1_000 + 10 * i, priceUtPerJ: 1_250_000, basis: 'estimated' }));
    step();
    L.charge({ wallet: B.raw, pid: 2, fuel: 50, energyUj: 700, priceUtPerJ: 1_000_000, basis: 'measured' });
  }
  step();
  mine(L.transfer({ from: A.raw, to: B.raw, amountUj: 12_345, nonce: 1, signature: signWith(A, transferMessage(NODE.raw, A.raw, B.raw, 12_345, 1)) }));
  step();
  mine(L.rent({ wallet: A.raw, pid: 1, periodMs: 1000, memoryBytes: 1 << 20, amountUj: 77 }));
  step();
  mine(L.transfer({ from: B.raw, to: A.raw, amountUj: 5_000, nonce: 1, signature: signWith(B, transferMessage(NODE.raw, B.raw, A.raw, 5_000, 1)) }));
  step();
  mine(L.reward({ wallet: A.raw, pid: 1, milliBits: 1585, amountUj: 999 }));
  step();
  mine(L.erasureTax({ wallet: A.raw, pid: 1, bytes: 4096, amountUj: 33 }));
  step();
  mine(L.transfer({ from: A.raw, to: B.raw, amountUj: 100, nonce: 2, signature: signWith(A, transferMessage(NODE.raw, A.raw, B.raw, 100, 2)) }));
  step();
  mine(L.death({ wallet: A.raw, pid: 1, reason: 'exited', amountUj: 0 }));
  step();
  mine(L.charge({ wallet: A.raw, pid: 3, fuel: 7, energyUj: 1, priceUtPerJ: 1, basis: 'measured' }));
  L.close();
}

describe('receipts', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'maxwell-receipt-'));
    const path = join(dir, 'ledger.db');
    buildHonest(path);
    store = new SqliteStore(path, { readonly: true });
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const billOf = (w: KeyPair, from = ALL_TIME[0], to = ALL_TIME[1], limit?: number) => makeReceipt(store, NODE, w.raw, from, to, limit);

  describe('honest bills', () => {
    it('an honest bill verifies, with every entry of the wallet and the sums of its items', () => {
      const r = billOf(A);
      const c = verifyReceipt(r, NODE.raw);
      assert.ok(c.ok, c.problem);
      assert.deepEqual(r.items.map((it) => it.seq), aSeqs);
      assert.equal(c.items, aSeqs.length);
      assert.deepEqual(c.totals, r.totals);
      assert.deepEqual(r.totals, totalsOf(r.items, A.raw), 'the test\'s totals are receipt.ts\'s');
      assert.ok(r.totals.epochs.length > 3, 'the bill spans several epochs');
      assert.equal(r.totals.transferred_out_uj, 12_345 + 100);
      assert.equal(r.totals.transferred_in_uj, 5_000);
      assert.equal(r.totals.rent_uj, 77);
      assert.equal(r.totals.rewards_uj, 999);
      assert.equal(r.totals.erasure_tax_uj, 33);
      assert.equal(r.totals.granted_uj, 10_000_000);
      // The closing balance is A's balance in the store (A's last entry is the last of the log).
      const stored = new Map(store.balances().map(([w, b]) => [w, b]));
      assert.equal(r.closing_balance_uj, stored.get(hex(A.raw)));
      assert.ok(verifyReceipt(billOf(B), NODE.raw).ok);
      // And after a JSON round trip, as a payer gets it.
      assert.ok(verifyReceipt(JSON.parse(JSON.stringify(r)), NODE.raw).ok);
    });

    it('a bill for part of the time holds the entries timed in it, and verifies', () => {
      const all = billOf(A);
      const times = all.items.map((it) => entryOf(it).timeMs);
      const [from, to] = [times[3]!, times[8]!];
      const r = billOf(A, from, to);
      assert.deepEqual(r.items.map((it) => it.seq), all.items.filter((_, i) => times[i]! >= from && times[i]! <= to).map((it) => it.seq));
      assert.ok(verifyReceipt(r, NODE.raw).ok);
    });

    it('a wallet with no entries gets a bill with no items that verifies', () => {
      const r = billOf(STRANGER);
      assert.equal(r.items.length, 0);
      assert.equal(r.closing_balance_uj, null);
      const c = verifyReceipt(r, NODE.raw);
      assert.ok(c.ok, c.problem);
      assert.equal(c.items, 0);
      assert.equal(c.totals?.entries, 0);
    });

    it('makeReceipt refuses the treasury, a range with from > to, a key that does not own the ledger, and more items than the limit', () => {
      expectThrows(() => billOf(NODE), ErrorCode.WALLET_INVALID, /treasury/);
      expectThrows(() => billOf(A, T0 + 2, T0 + 1), ErrorCode.BAD_ARGUMENT, /from ≤ to/);
      expectThrows(() => billOf(A, 1.5, T0), ErrorCode.BAD_ARGUMENT);
      expectThrows(() => makeReceipt(store, OTHER_NODE, A.raw, ...ALL_TIME), ErrorCode.KEY_INVALID);
      expectThrows(() => billOf(A, ...ALL_TIME, aSeqs.length - 1), ErrorCode.BAD_ARGUMENT, new RegExp(`more than ${aSeqs.length - 1} entries`));
      assert.equal(billOf(A, ...ALL_TIME, aSeqs.length).items.length, aSeqs.length, 'exactly the limit fits');
    });
  });

  describe('a bill changed without the node\'s key', () => {
    it('a changed decoded copy, total, closing balance, item order, entry or item from another wallet fails, saying what', () => {
      const r = billOf(A);
      const k = 3; // a charge of A
      assert.equal(r.items[k]!.decoded.kind, 'charge');

      const decoded = copy(r);
      decoded.items[k]!.decoded.amount_uj = Number(decoded.items[k]!.decoded.amount_uj) - 1;
      expectInvalid(decoded, new RegExp(`item ${r.items[k]!.seq}'s decoded copy does not match its bytes`));

      const totals = copy(r);
      totals.totals.charged_uj -= 1;
      expectInvalid(totals, /the totals are not the sums of the items/);
      const epochs = copy(r);
      epochs.totals.epochs.pop();
      expectInvalid(epochs, /the totals are not the sums of the items/);

      const closing = copy(r);
      closing.closing_balance_uj! += 1_000_000;
      expectInvalid(closing, /the closing balance is not the last item's/);

      const order = copy(r);
      [order.items[0], order.items[1]] = [order.items[1]!, order.items[0]!];
      expectInvalid(order, new RegExp(`items are not in increasing seq order at ${r.items[0]!.seq}`));
      // Swapped further in, the line moved ahead breaks the chain first (the one it jumped is missing there).
      const later = copy(r);
      [later.items[4], later.items[5]] = [later.items[5]!, later.items[4]!];
      expectInvalid(later, /does not chain|not in increasing seq order/);

      const bytes = copy(r);
      const b = Buffer.from(bytes.items[k]!.entry, 'hex');
      b[121]! -= 1; // the low byte of amountUj
      bytes.items[k]!.entry = hex(b);
      expectInvalid(bytes, /inclusion proof fails/);

      // A line of B's (a charge B paid, same head) slipped into A's bill where its seq belongs.
      const other = billOf(B).items.find((it) => entryOf(it).kind === 'charge')!;
      assert.equal(billOf(B).head.root, r.head.root, 'both bills are against the same head');
      const foreign = copy(r);
      foreign.items.push(other);
      foreign.items.sort((x, y) => x.seq - y.seq);
      expectInvalid(foreign, new RegExp(`entry ${other.seq} does not involve the wallet`));

      const dropped = copy(r);
      dropped.items.splice(k, 1);
      expectInvalid(dropped, /does not chain/);

      const narrowed = copy(r);
      narrowed.from_ms = entryOf(r.items[1]!).timeMs + 1;
      expectInvalid(narrowed, /outside the billed range/);
    });

    it('a changed signature or head signature, or the wrong key, fails', () => {
      const r = billOf(A);
      const sig = copy(r);
      sig.signature = `${sig.signature.slice(0, 10)}${sig.signature[10] === '0' ? '1' : '0'}${sig.signature.slice(11)}`;
      expectInvalid(sig, /the bill's signature does not verify with the node's key/);

      const head = copy(r);
      head.head.signature = `${head.head.signature[0] === '0' ? '1' : '0'}${head.head.signature.slice(1)}`;
      expectInvalid(head, /the epoch head \(epoch \d+\) is not signed by the node's key/);

      const root = copy(r);
      root.head.root = '00'.repeat(32);
      expectInvalid(root, /the epoch head .* is not signed/);

      // `receipt verify --key` with another node's key.
      expectInvalid(r, new RegExp(`the receipt is from node ${r.node_key}, not from the key given \\(${hex(OTHER_NODE.raw)}\\)`), OTHER_NODE.raw);
      // The bill passed off as another node's: that node can sign the bill, not this log's epoch head.
      const moved = copy(r);
      moved.node_key = hex(OTHER_NODE.raw);
      expectInvalid(nodeSigned(moved, OTHER_NODE), /the epoch head .* is not signed by the node's key/, OTHER_NODE.raw);

      expectInvalid('a bill', /not a receipt/);
      expectInvalid({ ...copy(r), format: 'maxwell-receipt-v0' }, /not a maxwell-receipt-v1 receipt/);
      expectInvalid({ ...copy(r), items: 'none' }, /malformed/);
    });

    // verifyReceipt "never throws on a bad receipt". JSON.parse cannot make an array with a hole,
    // so `receipt verify` is not affected; a caller passing an object is.
    it('a proof with a hole in its array is refused, not thrown on', () => {
      const r = copy(billOf(A));
      delete r.items[1]!.proof[0];
      let c: ReturnType<typeof verifyReceipt> | undefined;
      assert.doesNotThrow(() => (c = verifyReceipt(r, NODE.raw)));
      assert.equal(c!.ok, false);
    });
  });

  describe('a bill the node signed', () => {
    it('the paper log\'s honest bill verifies (the builder is right)', () => {
      const p = paperWithWallets();
      p.charge(A, 1_000);
      p.transfer(A, B, 500, 1);
      p.charge(B, 200);
      p.transfer(B, A, 50, 1);
      p.transfer(A, C, 70, 2);
      p.charge(A, 3);
      const c = verifyReceipt(p.bill(A), NODE.raw);
      assert.ok(c.ok, c.problem);
      assert.equal(c.items, 6);
      assert.ok(verifyReceipt(p.bill(B), NODE.raw).ok);
    });

    it('(i) an honest bill with a middle line that moved the balance left out, re-signed: "does not chain"', () => {
      const r = billOf(A);
      for (const k of [2, 6, r.items.length - 3]) {
        const cut = copy(r);
        const [gone] = cut.items.splice(k, 1);
        assert.ok(entryOf(gone!).amountUj > 0, 'the line left out moved the balance');
        const c = verifyReceipt(nodeSigned(cut), NODE.raw);
        assert.equal(c.ok, false);
        assert.match(c.problem!, new RegExp(`the wallet's balance does not chain from entry ${r.items[k - 1]!.seq} to entry ${r.items[k + 1]!.seq}: an entry between them is missing`));
        assert.equal(c.seq, r.items[k + 1]!.seq);
      }
      // The same bill over the paper log: the charge at seq 5 left out.
      const p = paperWithWallets();
      p.charge(A, 100);
      const mid = p.charge(A, 200);
      p.charge(A, 300);
      expectInvalid(p.bill(A, [mid]), new RegExp(`does not chain from entry ${mid - 1} to entry ${mid + 1}`));
    });

    it('(ii) a bill with an overcharge line (R8) fails', () => {
      const p = paperWithWallets();
      p.charge(A, 1_000);
      const over = p.charge(A, 1_000, 1_001);
      p.charge(A, 10);
      const c = verifyReceipt(p.bill(A), NODE.raw);
      assert.equal(c.ok, false);
      assert.equal(c.seq, over);
      assert.match(c.problem!, new RegExp(`entry ${over} breaks R8: charged 1001 µJ for 1000 µJ`));
    });

    it('(iii) a bill with a transfer out the wallet never signed (R7) fails', () => {
      const p = paperWithWallets();
      p.charge(A, 1_000);
      const forged = p.transfer(A, B, 400_000, 1, OTHER_NODE); // signed by the node's other key, not by A
      p.charge(A, 10);
      const c = verifyReceipt(p.bill(A), NODE.raw);
      assert.equal(c.ok, false);
      assert.equal(c.seq, forged);
      assert.match(c.problem!, /R7: the transfer's signature does not verify with the sender's key/);
      // The payee's bill shows it too: a transfer in that its sender never signed.
      expectInvalid(p.bill(B), /R7/);
    });

    it('(iv) a bill whose outgoing transfers skip a nonce fails', () => {
      const p = paperWithWallets();
      p.transfer(A, B, 100, 1);
      p.charge(A, 10);
      const skipped = p.transfer(A, C, 100, 3); // properly signed by A, but nonce 2 was never used
      const c = verifyReceipt(p.bill(A), NODE.raw);
      assert.equal(c.ok, false);
      assert.equal(c.seq, skipped);
      assert.match(c.problem!, /the wallet's transfers skip from nonce 1 to 3/);
      // A replayed nonce too.
      const q = paperWithWallets();
      q.transfer(A, B, 100, 1);
      q.transfer(A, B, 100, 1);
      expectInvalid(q.bill(A), /skip from nonce 1 to 1/);
    });

    it('documented limitation: a bill that leaves out its FIRST or LAST lines still verifies', () => {
      // docs/ledger.md, threat model, "The ends of a bill": nothing ties the first line to the
      // wallet's entry before the range, nor the last to its balance at the head, so a node can
      // drop lines at either end of a bill (or bill nothing) and the bill verifies. This test pins
      // that current behaviour of receipts v1; an opening/closing anchor would make these fail,
      // and whoever adds one should flip these assertions deliberately.
      const r = billOf(A);
      const noFirst = copy(r);
      noFirst.items.splice(0, 2);
      const noLast = copy(r);
      noLast.items.splice(noLast.items.length - 2, 2);
      const nothing = copy(r);
      nothing.items = [];
      for (const [what, bill] of [['first two lines', noFirst], ['last two lines', noLast], ['every line', nothing]] as const) {
        const c = verifyReceipt(nodeSigned(bill), NODE.raw);
        assert.equal(c.ok, true, `a bill without its ${what} verifies today (the documented limitation): ${c.problem}`);
      }
    });
  });
});
