/**
 * The embedded ledger store: one SQLite file (better-sqlite3, WAL, synchronous = FULL), by
 * default ./.maxwell/ledger.db.
 *
 * Durability: each epoch is one transaction, and with WAL and synchronous = FULL SQLite syncs
 * the WAL before COMMIT returns, so an epoch is on disk when commit() returns and a crash at
 * any moment leaves either the whole epoch or none of it (the "uncommitted tail").
 *
 * A single writer: commit() checks inside its transaction that the last stored epoch is the
 * one before the batch's, so a second process writing the same file fails loudly instead of
 * interleaving two logs.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { entryLengthAt, HASH_BYTES, hex, nodeHash, type Genesis } from './format.js';
import {
  lookupWalletIndex, NODE_MIN_SIZE, type EpochBatch, type EpochRecord, type HeadState, type LedgerStore, type StoredEntry,
} from './store.js';

// Entries are stored by epoch, TigerBeetle-style: one row per epoch holding its entries
// concatenated (each entry's length follows from its kind) and their leaf hashes, so an epoch
// is one row to write and one blob to read back (the verifier reads ~10⁶ entries/s this way;
// row by row, reading alone cost ~2 µs an entry). The leaf hashes are a cache that lets the
// verifier name the altered entry, and the proofs hash small subtrees without re-encoding.
//
// There is no index on the entries by wallet: a (wallet, time) B-tree takes random writes at
// every entry and cut the commit rate from ~500,000 to ~150,000 entries/s here. Each epoch
// carries its own wallet index instead (store.ts packWalletIndex: its wallets, sorted, with
// their entries' positions), so a receipt looks up one wallet per epoch in its time range, and
// the verifier compares the whole index with the one it computes in one call.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS epochs (
  epoch INTEGER PRIMARY KEY, tree_size INTEGER NOT NULL UNIQUE, time_ms INTEGER NOT NULL, root BLOB NOT NULL, signature BLOB NOT NULL,
  entries BLOB NOT NULL, hashes BLOB NOT NULL, wallet_index BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS epochs_time ON epochs (time_ms);
CREATE TABLE IF NOT EXISTS leaf_groups (grp INTEGER PRIMARY KEY, hashes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (size INTEGER NOT NULL, start INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (size, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS balances (wallet TEXT PRIMARY KEY, balance_uj INTEGER NOT NULL, nonce INTEGER NOT NULL) WITHOUT ROWID;
`;

const HEAD_COLS = 'epoch, tree_size, time_ms, root, signature';
/** Rows fetched at a time by the readers (epochs with their entries are up to ~14 MB each). */
const CHUNK = 8192;
const BLOB_CHUNK = 4;
type EpochRow = { epoch: number; tree_size: number; time_ms: number; root: Buffer; signature: Buffer };
type BlobRow = EpochRow & { entries: Buffer; hashes: Buffer };
const toEpoch = (r: EpochRow): EpochRecord => ({ epoch: r.epoch, treeSize: r.tree_size, timeMs: r.time_ms, root: r.root, signature: r.signature });

/**
 * Splits an epoch's blobs into entries. A blob that does not split (a byte flipped in a kind, an
 * entry cut short) yields what it can, then one entry holding the rest: the verifier names it.
 */
export function splitEpoch(firstSeq: number, entries: Buffer, hashes: Buffer): StoredEntry[] {
  const out: StoredEntry[] = [];
  let at = 0;
  for (let i = 0; at < entries.length; i++) {
    const len = entryLengthAt(entries, at);
    const hash = hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
    if (len < 0 || at + len > entries.length) {
      out.push({ seq: firstSeq + i, bytes: entries.subarray(at), hash });
      break;
    }
    out.push({ seq: firstSeq + i, bytes: entries.subarray(at, at + len), hash });
    at += len;
  }
  return out;
}

export interface SqliteStoreOptions {
  /** Open without writing (ledger verify, receipts): no schema changes, no commits. */
  readonly?: boolean;
}

export class SqliteStore implements LedgerStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly st: Record<string, Database.Statement>;
  private readonly commitTx: Database.Transaction<(b: EpochBatch) => void>;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.path = path;
    try {
      if (!opts.readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } catch (err) {
      throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `cannot open the ledger at ${path}: ${(err as Error).message}`, { path });
    }
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // A bigger cache than the 2 MiB default: an epoch's pages stay in memory until its commit.
      this.db.pragma('cache_size = -65536');
      this.db.exec(SCHEMA);
    }
    this.db.defaultSafeIntegers(false);
    const p = (sql: string) => this.db.prepare(sql);
    const has = (this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('epochs', 'meta')").get() as { n: number }).n === 2;
    if (!has) throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `${path} is not a Maxwell ledger (no epochs table)`, { path });
    this.st = {
      meta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?)'),
      upMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      lastEpoch: p(`SELECT ${HEAD_COLS} FROM epochs ORDER BY epoch DESC LIMIT 1`),
      epoch: p(`SELECT ${HEAD_COLS} FROM epochs WHERE epoch = ?`),
      epochs: p(`SELECT ${HEAD_COLS} FROM epochs WHERE epoch >= ? ORDER BY epoch LIMIT ?`),
      blobs: p(`SELECT ${HEAD_COLS}, entries, hashes FROM epochs WHERE epoch >= ? ORDER BY epoch LIMIT ?`),
      epochBlob: p('SELECT tree_size, entries, hashes FROM epochs WHERE epoch = ?'),
      walletIndex: p('SELECT tree_size, length(hashes) AS n, wallet_index FROM epochs WHERE epoch = ?'),
      between: p(`SELECT ${HEAD_COLS} FROM epochs WHERE epoch >= coalesce((SELECT min(epoch) FROM epochs WHERE time_ms >= @from), 1e18) AND epoch <= coalesce((SELECT min(epoch) FROM epochs WHERE time_ms > @to), (SELECT max(epoch) FROM epochs)) ORDER BY epoch`),
      epochOf: p('SELECT epoch FROM epochs WHERE tree_size > ? ORDER BY tree_size LIMIT 1'),
      insEpoch: p(`INSERT INTO epochs (${HEAD_COLS}, entries, hashes, wallet_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      insNode: p('INSERT INTO nodes (size, start, hash) VALUES (?, ?, ?)'),
      upBalance: p('INSERT INTO balances (wallet, balance_uj, nonce) VALUES (?, ?, ?) ON CONFLICT (wallet) DO UPDATE SET balance_uj = excluded.balance_uj, nonce = excluded.nonce'),
      balances: p('SELECT wallet, balance_uj, nonce FROM balances'),
      node: p('SELECT hash FROM nodes WHERE size = ? AND start = ?'),
      nodes: p('SELECT size, start, hash FROM nodes WHERE (size, start) > (?, ?) ORDER BY size, start LIMIT ?'),
      group: p('SELECT hashes FROM leaf_groups WHERE grp = ?'),
      groups: p('SELECT hashes FROM leaf_groups WHERE grp >= ? AND grp <= ? ORDER BY grp'),
      putGroup: p('INSERT INTO leaf_groups (grp, hashes) VALUES (?, ?) ON CONFLICT (grp) DO UPDATE SET hashes = excluded.hashes'),
      nodesIn: p('SELECT start, hash FROM nodes WHERE size = ? AND start >= ? AND start < ? ORDER BY start LIMIT ?'),
    };
    // Rows as arrays, not objects, on the verifier's paths.
    for (const k of ['nodesIn', 'groups']) this.st[k]!.raw(true);
    this.commitTx = this.db.transaction((b: EpochBatch) => {
      const last = this.lastEpoch();
      const expected = last === undefined ? 0 : last.epoch + 1;
      if (b.epoch.epoch !== expected || (last?.treeSize ?? 0) !== b.firstSeq || b.firstSeq + b.count !== b.epoch.treeSize || b.hashes.length !== b.count * HASH_BYTES) {
        throw new MaxwellError(ErrorCode.LEDGER_CORRUPT, `another writer changed ${this.path}: it ends at epoch ${expected - 1}, this writer is committing epoch ${b.epoch.epoch}`);
      }
      for (const n of b.nodes) this.st.insNode!.run(n.size, n.start, n.hash);
      this.putLeafGroups(b.firstSeq, b.hashes);
      for (const [w, bal, nonce] of b.balances) this.st.upBalance!.run(w, bal, nonce);
      const ep = b.epoch;
      this.st.insEpoch!.run(ep.epoch, ep.treeSize, ep.timeMs, ep.root, ep.signature,
        b.entries, b.hashes, b.walletIndex);
      this.st.upMeta!.run('head', JSON.stringify(b.head));
    });
  }

  genesis(): Genesis | undefined {
    const row = this.st.meta!.get('genesis') as { value: string } | undefined;
    if (row === undefined) return undefined;
    const g = JSON.parse(row.value) as { nodeKey: string; genesisTimeMs: number; maxPowerCapMw: number; format: number };
    return { nodeKey: Buffer.from(g.nodeKey, 'hex'), genesisTimeMs: g.genesisTimeMs, maxPowerCapMw: g.maxPowerCapMw };
  }

  init(g: Genesis): void {
    assert(this.genesis() === undefined, 'a ledger is initialised once');
    this.st.setMeta!.run('genesis', JSON.stringify({ format: 1, nodeKey: hex(g.nodeKey), genesisTimeMs: g.genesisTimeMs, maxPowerCapMw: g.maxPowerCapMw }));
  }

  lastEpoch(): EpochRecord | undefined {
    const r = this.st.lastEpoch!.get() as EpochRow | undefined;
    return r && toEpoch(r);
  }

  epoch(n: number): EpochRecord | undefined {
    const r = this.st.epoch!.get(n) as EpochRow | undefined;
    return r && toEpoch(r);
  }

  // The readers below fetch in chunks rather than hold a statement open across yields: while
  // a better-sqlite3 iterator is open, the connection runs no other statement, and callers
  // (the verifier) look up Merkle nodes in the middle of a walk.
  *epochs(): IterableIterator<EpochRecord> {
    for (let from = 0; ;) {
      const rows = this.st.epochs!.all(from, CHUNK) as EpochRow[];
      for (const r of rows) yield toEpoch(r);
      if (rows.length < CHUNK) return;
      from = rows[rows.length - 1]!.epoch + 1;
    }
  }

  head(): HeadState | undefined {
    const row = this.st.meta!.get('head') as { value: string } | undefined;
    return row && (JSON.parse(row.value) as HeadState);
  }

  balances(): [string, number, number][] {
    return (this.st.balances!.all() as { wallet: string; balance_uj: number; nonce: number }[]).map((r) => [r.wallet, r.balance_uj, r.nonce]);
  }

  commit(batch: EpochBatch): void {
    this.commitTx.immediate(batch);
  }

  *entries(fromSeq: number, toSeq: number): IterableIterator<StoredEntry> {
    const first = this.epochOf(fromSeq);
    if (first === undefined) return;
    for (let from = first; ;) {
      const rows = this.st.blobs!.all(from, BLOB_CHUNK) as BlobRow[];
      for (const r of rows) {
        const es = splitEpoch(r.tree_size - countOf(r), r.entries, r.hashes);
        for (const e of es) {
          if (e.seq >= toSeq) return;
          if (e.seq >= fromSeq) yield e;
        }
      }
      if (rows.length < BLOB_CHUNK) return;
      from = rows[rows.length - 1]!.epoch + 1;
    }
  }

  *epochBlobs(fromEpoch: number): IterableIterator<{ epoch: EpochRecord; entries: Buffer; hashes: Buffer; firstSeq: number }> {
    let prevSize = fromEpoch === 0 ? 0 : this.epoch(fromEpoch - 1)?.treeSize;
    if (prevSize === undefined) return;
    for (let from = fromEpoch; ;) {
      const rows = this.st.blobs!.all(from, BLOB_CHUNK) as BlobRow[];
      for (const r of rows) {
        yield { epoch: toEpoch(r), entries: r.entries, hashes: r.hashes, firstSeq: prevSize };
        prevSize = r.tree_size;
      }
      if (rows.length < BLOB_CHUNK) return;
      from = rows[rows.length - 1]!.epoch + 1;
    }
  }

  /** The entries of one epoch. */
  epochEntries(epoch: number): StoredEntry[] {
    const r = this.st.epochBlob!.get(epoch) as { tree_size: number; entries: Buffer; hashes: Buffer } | undefined;
    return r === undefined ? [] : splitEpoch(r.tree_size - r.hashes.length / HASH_BYTES, r.entries, r.hashes);
  }

  epochOf(seq: number): number | undefined {
    return (this.st.epochOf!.get(seq) as { epoch: number } | undefined)?.epoch;
  }

  epochsBetween(fromMs: number, toMs: number): EpochRecord[] {
    return (this.st.between!.all({ from: fromMs, to: toMs }) as EpochRow[]).map(toEpoch);
  }

  walletSeqs(epoch: number, wallet: Buffer): number[] {
    const r = this.st.walletIndex!.get(epoch) as { tree_size: number; n: number; wallet_index: Buffer } | undefined;
    return r === undefined ? [] : lookupWalletIndex(r.wallet_index, wallet, r.tree_size - r.n / HASH_BYTES);
  }

  epochWallets(epoch: number): Buffer {
    const r = this.st.walletIndex!.get(epoch) as { wallet_index: Buffer } | undefined;
    return r?.wallet_index ?? Buffer.alloc(0);
  }

  *nodesEndingIn(size: number, fromSeq: number, toSeq: number): IterableIterator<{ start: number; hash: Buffer }> {
    const end = toSeq - size + 1;
    for (let from = Math.max(0, fromSeq - size + 1); from < end; ) {
      const rows = this.st.nodesIn!.all(size, from, end, CHUNK) as [number, Buffer][];
      for (const r of rows) yield { start: r[0], hash: r[1] };
      if (rows.length < CHUNK) return;
      from = rows[rows.length - 1]![0] + 1;
    }
  }

  *nodes(): IterableIterator<{ start: number; size: number; hash: Buffer }> {
    for (let size = 0, start = -1; ;) {
      const rows = this.st.nodes!.all(size, start, CHUNK) as { size: number; start: number; hash: Buffer }[];
      for (const r of rows) yield r;
      if (rows.length < CHUNK) return;
      ({ size, start } = rows[rows.length - 1]!);
    }
  }

  subtree(start: number, size: number): Buffer {
    if (size >= NODE_MIN_SIZE) {
      const r = this.st.node!.get(size, start) as { hash: Buffer } | undefined;
      if (r === undefined) throw new MaxwellError(ErrorCode.LEDGER_CORRUPT, `the Merkle node of ${size} leaves at ${start} is missing from ${this.path}`);
      return r.hash;
    }
    // A subtree under NODE_MIN_SIZE leaves lies inside one group of NODE_MIN_SIZE leaf hashes.
    const grp = Math.floor(start / NODE_MIN_SIZE);
    const row = this.st.group!.get(grp) as { hashes: Buffer } | undefined;
    const from = (start - grp * NODE_MIN_SIZE) * HASH_BYTES;
    if (row === undefined || row.hashes.length < from + size * HASH_BYTES) {
      throw new MaxwellError(ErrorCode.LEDGER_CORRUPT, `the leaf hashes of entries ${start}..${start + size - 1} are missing from ${this.path}`);
    }
    const leaves: Buffer[] = [];
    for (let i = 0; i < size; i++) leaves.push(row.hashes.subarray(from + i * HASH_BYTES, from + (i + 1) * HASH_BYTES));
    let level = leaves;
    while (level.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
      level = up;
    }
    return level[0]!;
  }

  leafGroups(fromSeq: number, toSeq: number): Buffer {
    const rows = this.st.groups!.all(Math.floor(fromSeq / NODE_MIN_SIZE), Math.floor((toSeq - 1) / NODE_MIN_SIZE)) as [Buffer][];
    return Buffer.concat(rows.map((r) => r[0]));
  }

  /**
   * Leaf hashes in groups of NODE_MIN_SIZE (one row each), for proofs: a subtree smaller than the
   * stored nodes is hashed from its group (512 bytes) instead of from its epoch's blobs (megabytes).
   * A group left partial by one epoch is completed by the next.
   */
  private putLeafGroups(firstSeq: number, hashes: Buffer): void {
    const end = firstSeq + hashes.length / HASH_BYTES;
    for (let seq = firstSeq; seq < end; ) {
      const grp = Math.floor(seq / NODE_MIN_SIZE);
      const start = grp * NODE_MIN_SIZE;
      const upTo = Math.min(end, start + NODE_MIN_SIZE);
      const mine = hashes.subarray((seq - firstSeq) * HASH_BYTES, (upTo - firstSeq) * HASH_BYTES);
      let row = mine;
      if (seq > start) {
        const prev = this.st.group!.get(grp) as { hashes: Buffer } | undefined;
        assert(prev !== undefined && prev.hashes.length === (seq - start) * HASH_BYTES, 'the partial leaf group before an epoch is stored');
        row = Buffer.concat([prev.hashes, mine]);
      }
      this.st.putGroup!.run(grp, row);
      seq = upTo;
    }
  }

  private reading = 0;

  beginRead(): void {
    // WAL: a read transaction keeps its snapshot (from its first read) until it ends.
    if (this.reading++ === 0) this.db.exec('BEGIN');
  }

  endRead(): void {
    assert(this.reading > 0, 'endRead pairs a beginRead');
    if (--this.reading === 0) this.db.exec('COMMIT');
  }

  close(): void {
    this.db.close();
  }
}

/** Entries in an epoch row, from its hashes (32 bytes each). */
function countOf(r: { hashes: Buffer }): number {
  return r.hashes.length / HASH_BYTES;
}
