/**
 * Receipts: a wallet's signed bill for a time range, checkable offline with the node's public
 * key alone.
 *
 * A receipt (JSON, format "maxwell-receipt-v1") holds the node's latest signed epoch head and,
 * for every entry of the wallet timed in [from_ms, to_ms], the entry's exact bytes, a decoded
 * copy for people, the epoch that committed it, and its RFC 6962 inclusion proof against the
 * head's root. Totals (what was charged, for how much fuel and energy, rent, taxes, rewards,
 * transfers) sum the items. The node signs the SHA-256 of the receipt's canonical JSON (keys
 * sorted, no signature field).
 *
 * What `verifyReceipt` checks, with the key alone: the head's signature; every item's proof,
 * so each entry is in the node's signed log exactly as shown; every decoded copy against its
 * bytes; that each entry involves the wallet and lies in the range; that consecutive items
 * chain (each entry records the wallet's balance after it, so the balance before an item must
 * be the balance after the previous one: an omitted entry that moved the balance shows); the
 * totals; and the bill's signature. What it cannot check alone: that the node's meter was
 * honest (the charge is the node's signed attestation; proof of useful work is issue 6) and
 * that no entry netting to zero was left out (docs/ledger.md, threat model).
 */
import { createHash } from 'node:crypto';
import { ErrorCode, MaxwellError } from '../errors.js';
import {
  decodeEntry, epochMessage, FormatError, hex, leafHash, PRICE_UNIT, type Entry,
} from './format.js';
import { signWith, type KeyPair } from './keys.js';
import { inclusionProof, verifyInclusion } from './merkle.js';
import { checkEntryAlone, verifyEd25519 } from './state.js';
import type { LedgerStore } from './store.js';

export const RECEIPT_FORMAT = 'maxwell-receipt-v1';
/** The most entries one receipt holds: a wider range must be billed in parts. */
export const MAX_RECEIPT_ITEMS = 100_000;

export interface ReceiptItem {
  seq: number;
  epoch: number;
  /** The entry's bytes, hex. */
  entry: string;
  /** Inclusion proof against head.root, hex hashes. */
  proof: string[];
  /** The entry decoded, for people; checked against `entry` by verify. */
  decoded: Record<string, string | number>;
}

export interface ReceiptTotals {
  entries: number;
  charged_uj: number;
  fuel: number;
  energy_uj: number;
  rent_uj: number;
  erasure_tax_uj: number;
  death_uj: number;
  rewards_uj: number;
  /** Fees this wallet paid as a requester for queries it gave processes. */
  query_fees_uj: number;
  granted_uj: number;
  transferred_in_uj: number;
  transferred_out_uj: number;
  epochs: number[];
}

export interface Receipt {
  format: typeof RECEIPT_FORMAT;
  node_key: string;
  wallet: string;
  from_ms: number;
  to_ms: number;
  head: { epoch: number; tree_size: number; time_ms: number; root: string; signature: string };
  items: ReceiptItem[];
  totals: ReceiptTotals;
  /** The wallet's balance after the last item (µJ), if there is an item. */
  closing_balance_uj: number | null;
  signature: string;
}

/** JSON with object keys sorted at every level: the bytes the bill's signature covers. */
export function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/** What the node signs for a bill: a domain tag (the node key also signs epoch heads) and the SHA-256 of its canonical JSON. */
function billDigest(r: Omit<Receipt, 'signature'> & { signature?: string }): Buffer {
  const { signature: _omit, ...body } = r;
  return Buffer.concat([BILL_TAG, createHash('sha256').update(canonicalJson(body)).digest()]);
}
const BILL_TAG = Buffer.from('maxwell-receipt-v1');

/** The decoded copy of an entry shown to people (all integers; prices in tokens/J as a decimal string). */
export function describeEntry(e: Entry): Record<string, string | number> {
  const d: Record<string, string | number> = {
    kind: e.kind,
    seq: e.seq,
    time: new Date(e.timeMs).toISOString(),
    time_ms: e.timeMs,
    from: hex(e.from),
    to: hex(e.to),
    amount_uj: e.amountUj,
    from_balance_uj: e.fromBalanceUj,
    to_balance_uj: e.toBalanceUj,
  };
  switch (e.kind) {
    case 'charge':
      Object.assign(d, { pid: e.pid, fuel: e.fuel, energy_uj: e.energyUj, price_ut_per_j: e.priceUtPerJ, price_tokens_per_j: (e.priceUtPerJ / PRICE_UNIT).toString(), basis: e.basis });
      break;
    case 'rent': Object.assign(d, { pid: e.pid, period_ms: e.periodMs, memory_bytes: e.memoryBytes }); break;
    case 'erasure_tax': Object.assign(d, { pid: e.pid, bytes: e.bytes }); break;
    case 'reward': Object.assign(d, { pid: e.pid, milli_bits: e.milliBits }); break;
    case 'query_fee': Object.assign(d, { pid: e.pid, samples: e.samples }); break;
    case 'death': Object.assign(d, { pid: e.pid, reason: e.reason }); break;
    case 'transfer': Object.assign(d, { nonce: e.nonce }); break;
    case 'mint': Object.assign(d, { period_start_ms: e.periodStartMs, period_end_ms: e.periodEndMs, power_cap_mw: e.powerCapMw }); break;
    case 'grant': case 'burn': break;
  }
  return d;
}

function emptyTotals(): ReceiptTotals {
  return { entries: 0, charged_uj: 0, fuel: 0, energy_uj: 0, rent_uj: 0, erasure_tax_uj: 0, death_uj: 0, rewards_uj: 0, query_fees_uj: 0, granted_uj: 0, transferred_in_uj: 0, transferred_out_uj: 0, epochs: [] };
}

function addToTotals(t: ReceiptTotals, e: Entry, wallet: Buffer, epoch: number): void {
  t.entries++;
  if (t.epochs[t.epochs.length - 1] !== epoch) t.epochs.push(epoch);
  switch (e.kind) {
    case 'charge': t.charged_uj += e.amountUj; t.fuel += e.fuel; t.energy_uj += e.energyUj; break;
    case 'rent': t.rent_uj += e.amountUj; break;
    case 'erasure_tax': t.erasure_tax_uj += e.amountUj; break;
    case 'death': t.death_uj += e.amountUj; break;
    case 'reward': t.rewards_uj += e.amountUj; break;
    case 'query_fee': t.query_fees_uj += e.amountUj; break;
    case 'grant': t.granted_uj += e.amountUj; break;
    case 'transfer':
      if (e.to.equals(wallet)) t.transferred_in_uj += e.amountUj;
      else t.transferred_out_uj += e.amountUj;
      break;
    case 'mint': case 'burn': break;
  }
}

/** The wallet's balance after entry e (the wallet is e's from or to). */
const balanceAfter = (e: Entry, wallet: Buffer) => (e.from.equals(wallet) ? e.fromBalanceUj : e.toBalanceUj);
const delta = (e: Entry, wallet: Buffer) => (e.from.equals(wallet) ? -e.amountUj : e.amountUj);

/** Builds and signs the bill of `wallet` for entries timed in [fromMs, toMs], from the committed log. */
export function makeReceipt(store: LedgerStore, nodeKey: KeyPair, wallet: Buffer, fromMs: number, toMs: number, limit = MAX_RECEIPT_ITEMS): Receipt {
  store.beginRead(); // one snapshot: the head and the entries it covers
  try {
    return makeReceiptIn(store, nodeKey, wallet, fromMs, toMs, limit);
  } finally {
    store.endRead();
  }
}

function makeReceiptIn(store: LedgerStore, nodeKey: KeyPair, wallet: Buffer, fromMs: number, toMs: number, limit: number): Receipt {
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || fromMs > toMs) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a receipt's range needs from ≤ to, as ms since the Unix epoch (got ${fromMs}..${toMs})`);
  }
  const genesis = store.genesis();
  if (genesis === undefined || !genesis.nodeKey.equals(nodeKey.raw)) throw new MaxwellError(ErrorCode.KEY_INVALID, 'the key given is not the key of the node that owns this ledger');
  if (wallet.equals(nodeKey.raw)) {
    throw new MaxwellError(ErrorCode.WALLET_INVALID, 'the treasury is not billed: its entries are the whole log (use `maxwell ledger verify` and `ledger tail`)');
  }
  const head = store.lastEpoch();
  if (head === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, 'the ledger has no committed epoch yet: nothing to bill');
  const items: ReceiptItem[] = [];
  const totals = emptyTotals();
  let last: Entry | undefined;
  for (const ep of store.epochsBetween(fromMs, toMs)) {
    const seqs = store.walletSeqs(ep.epoch, wallet);
    if (seqs.length === 0) continue;
    const entries = store.epochEntries(ep.epoch);
    const first = entries[0]?.seq ?? 0;
    for (const seq of seqs) {
      // Epochs committed after the head was read are not in its tree: they wait for the next bill.
      if (seq >= head.treeSize) break;
      const stored = entries[seq - first];
      if (stored === undefined || stored.seq !== seq) throw new MaxwellError(ErrorCode.LEDGER_CORRUPT, `entry ${seq} is missing from epoch ${ep.epoch}; run \`maxwell ledger verify\``);
      let e: Entry;
      try {
        e = decodeEntry(stored.bytes);
      } catch (err) {
        if (err instanceof FormatError) throw new MaxwellError(ErrorCode.LEDGER_CORRUPT, `entry ${seq} does not decode (${err.message}); run \`maxwell ledger verify\``);
        throw err;
      }
      if (e.timeMs < fromMs || e.timeMs > toMs) continue;
      if (items.length >= limit) {
        throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `more than ${limit} entries in that range: ask for a narrower one (the last fitting entry is at ${new Date(last?.timeMs ?? fromMs).toISOString()})`);
      }
      items.push({ seq, epoch: ep.epoch, entry: hex(stored.bytes), proof: inclusionProof(store, seq, head.treeSize).map(hex), decoded: describeEntry(e) });
      addToTotals(totals, e, wallet, ep.epoch);
      last = e;
    }
  }
  const body: Omit<Receipt, 'signature'> = {
    format: RECEIPT_FORMAT,
    node_key: hex(nodeKey.raw),
    wallet: hex(wallet),
    from_ms: fromMs,
    to_ms: toMs,
    head: { epoch: head.epoch, tree_size: head.treeSize, time_ms: head.timeMs, root: hex(head.root), signature: hex(head.signature) },
    items,
    totals,
    closing_balance_uj: last === undefined ? null : balanceAfter(last, wallet),
  };
  return { ...body, signature: hex(signWith(nodeKey, billDigest(body))) };
}

export interface ReceiptCheck {
  ok: boolean;
  /** The first problem found. */
  problem?: string;
  /** The item it concerns. */
  seq?: number;
  items: number;
  totals?: ReceiptTotals;
}

const isHex = (s: unknown, bytes: number) => typeof s === 'string' && s.length === bytes * 2 && /^[0-9a-f]*$/.test(s);

/** Checks a receipt offline with the node's public key (raw 32 bytes). Never throws on a bad receipt: returns the first problem. */
export function verifyReceipt(r: unknown, nodeKey: Buffer): ReceiptCheck {
  const fail = (problem: string, seq?: number): ReceiptCheck => ({ ok: false, problem, items: 0, ...(seq === undefined ? {} : { seq }) });
  if (typeof r !== 'object' || r === null) return fail('not a receipt (not a JSON object)');
  const x = r as Receipt;
  if (x.format !== RECEIPT_FORMAT) return fail(`not a ${RECEIPT_FORMAT} receipt (format: ${String(x.format)})`);
  if (!isHex(x.node_key, 32) || !isHex(x.wallet, 32) || !isHex(x.signature, 64)) return fail('malformed keys or signature');
  if (x.node_key !== hex(nodeKey)) return fail(`the receipt is from node ${x.node_key}, not from the key given (${hex(nodeKey)})`);
  if (!Number.isSafeInteger(x.from_ms) || !Number.isSafeInteger(x.to_ms) || typeof x.head !== 'object' || x.head === null || !Array.isArray(x.items)) return fail('malformed receipt (range, head or items)');
  const h = x.head;
  if (!Number.isSafeInteger(h.epoch) || !Number.isSafeInteger(h.tree_size) || !Number.isSafeInteger(h.time_ms) || !isHex(h.root, 32) || !isHex(h.signature, 64)) return fail('malformed epoch head');
  const root = Buffer.from(h.root, 'hex');
  if (!verifyEd25519(nodeKey, epochMessage(nodeKey, { epoch: h.epoch, treeSize: h.tree_size, timeMs: h.time_ms, root }), Buffer.from(h.signature, 'hex'))) {
    return fail(`the epoch head (epoch ${h.epoch}) is not signed by the node's key`);
  }
  const wallet = Buffer.from(x.wallet, 'hex');
  const totals = emptyTotals();
  let prev: Entry | undefined;
  let lastNonce: number | undefined;
  for (const it of x.items) {
    if (typeof it !== 'object' || it === null || !Number.isSafeInteger(it.seq) || typeof it.entry !== 'string' || !Array.isArray(it.proof)) return fail('malformed item');
    const seq = it.seq;
    if (!/^([0-9a-f]{2})+$/.test(it.entry) || !Array.from(it.proof as unknown[]).every((p) => isHex(p, 32))) return fail(`item ${seq} is not hex`, seq);
    const bytes = Buffer.from(it.entry, 'hex');
    let e: Entry;
    try {
      e = decodeEntry(bytes);
    } catch (err) {
      if (err instanceof FormatError) return fail(`item ${seq} does not decode: ${err.message}`, seq);
      throw err;
    }
    if (e.seq !== seq) return fail(`item ${seq} holds entry ${e.seq}`, seq);
    if (prev !== undefined && seq <= prev.seq) return fail(`items are not in increasing seq order at ${seq}`, seq);
    if (!verifyInclusion(leafHash(bytes), seq, h.tree_size, it.proof.map((p) => Buffer.from(p, 'hex')), root)) {
      return fail(`entry ${seq} is not in the node's signed log as shown (its inclusion proof fails against epoch ${h.epoch}'s root)`, seq);
    }
    if (canonicalJson(describeEntry(e)) !== canonicalJson(it.decoded)) return fail(`item ${seq}'s decoded copy does not match its bytes`, seq);
    if (!e.from.equals(wallet) && !e.to.equals(wallet)) return fail(`entry ${seq} does not involve the wallet`, seq);
    // Each line must meet the rules a single entry can be checked against with the node's key
    // alone: a node cannot bill an overcharge or a transfer the wallet never signed.
    const broken = checkEntryAlone(e, nodeKey);
    if (broken !== null) return fail(`entry ${seq} breaks ${broken}`, seq);
    if (e.kind === 'transfer' && e.from.equals(wallet)) {
      if (lastNonce !== undefined && e.nonce !== lastNonce + 1) return fail(`entry ${seq}: the wallet's transfers skip from nonce ${lastNonce} to ${e.nonce}`, seq);
      lastNonce = e.nonce;
    }
    if (e.timeMs < x.from_ms || e.timeMs > x.to_ms) return fail(`entry ${seq} is outside the billed range`, seq);
    if (prev !== undefined && balanceAfter(e, wallet) - delta(e, wallet) !== balanceAfter(prev, wallet)) {
      return fail(`the wallet's balance does not chain from entry ${prev.seq} to entry ${seq}: an entry between them is missing from the bill`, seq);
    }
    if (!Number.isSafeInteger(it.epoch) || it.epoch < 0 || it.epoch > h.epoch) return fail(`item ${seq} names epoch ${it.epoch}, after the head's`, seq);
    addToTotals(totals, e, wallet, it.epoch);
    prev = e;
  }
  if (canonicalJson(totals) !== canonicalJson(x.totals)) return fail('the totals are not the sums of the items');
  const closing = prev === undefined ? null : balanceAfter(prev, wallet);
  if (x.closing_balance_uj !== closing) return fail('the closing balance is not the last item\'s');
  if (!verifyEd25519(nodeKey, billDigest(x), Buffer.from(x.signature, 'hex'))) return fail('the bill\'s signature does not verify with the node\'s key (the receipt was changed after signing)');
  return { ok: true, items: x.items.length, totals };
}
