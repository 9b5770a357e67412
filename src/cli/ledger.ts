/**
 * `maxwell ledger`: read the node's energy ledger without writing to it.
 *
 *   verify   walks the whole log from its genesis (src/ledger/verify.ts) and names the first bad
 *            entry or epoch
 *   tail     the last committed entries, decoded, and the last signed epoch head
 */
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { decodeEntry, FormatError, hex, ZERO_WALLET, type Entry } from '../ledger/format.js';
import { formatUj, loadKey, publicKeyFromArg } from '../ledger/keys.js';
import { existsSync } from 'node:fs';
import { DEFAULT_STATE_DIR, ledgerPath, listWallets, nodeKeyPath, openLedgerReadonly, walletKeyPath } from '../ledger/node-files.js';
import { describeEntry } from '../ledger/receipt.js';
import { verifyLedgerParallel, type VerifyReport } from '../ledger/verify.js';
import type { SqliteStore } from '../ledger/sqlite-store.js';
import type { EpochRecord } from '../ledger/store.js';
import { positiveInteger, subcommand, usage } from './args.js';

export const summary = 'verify the energy ledger end to end, or show its last entries';

const TAIL_MAX = 10_000;

const USAGE = `usage: maxwell ledger verify [--state DIR] [--db PATH] [--key PUBKEY] [--json]
       maxwell ledger tail [-n N] [--state DIR] [--db PATH] [--json]

Reads the node's energy ledger (STATE/ledger.db) read-only.

  verify      checks everything the format promises, from the genesis on: every entry decodes,
              hashes to its stored hash, chains to the one before and follows the validity rules
              (balances, mint bound, transfer nonces and signatures, charge arithmetic); every
              epoch's Merkle root and signature; the stored Merkle nodes, balances and head.
              Prints entries, epochs, wallets, supply, minted, burned and the speed. Exit status
              0 if the ledger is sound, 1 if not (the message names the first bad entry's seq
              and/or epoch). The ledger must be signed by --key, or by this node's key
              (STATE/node-key.pem) when there is one: a file re-signed by another key, however
              consistent, is not this node's ledger. A whole older copy of the file (a rollback)
              passes: compare its last head with one you hold (a receipt's) to catch that.
  tail        the last N committed entries (default 20, at most ${TAIL_MAX}), one a line: seq, time,
              kind, from → to, amount, and the kind's own fields; then the last epoch's signed
              head (epoch, tree size, root). Wallets with a key in STATE/wallets/ are shown by name.

  --state DIR   the node's state directory (default ${DEFAULT_STATE_DIR})
  --db PATH     the ledger file (default STATE/ledger.db)
  -n N          tail: how many entries
  --key PUBKEY  verify: the key the ledger must be signed by (64 hex digits or a PEM key file)
  --json        print one JSON object instead of text
  -h, --help    show this help`;

const OPTIONS = {
  state: { type: 'string', default: DEFAULT_STATE_DIR },
  db: { type: 'string' },
  n: { type: 'string', short: 'n' },
  json: { type: 'boolean', default: false },
  key: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
const SUBCOMMANDS: Record<string, string[]> = {
  verify: ['state', 'db', 'key', 'json', 'help'],
  tail: ['state', 'db', 'n', 'json', 'help'],
};

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = usage(() => parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true }));
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 64;
  }
  const { sub, rest } = subcommand('ledger', positionals, tokens, SUBCOMMANDS);
  if (rest.length > 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `ledger ${sub} takes no arguments, not '${rest.join(' ')}'`);
  const db = values.db ?? ledgerPath(values.state);
  if (sub === 'verify') return verify(db, values.json, expectedKey(values.key, values.state));
  const n = positiveInteger('n', values.n, 20);
  if (n > TAIL_MAX) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `-n is at most ${TAIL_MAX}, not ${n}`);
  return tail(db, values.state, n, values.json);
}

const j = (uj: number) => `${formatUj(uj)} J`;

/** The key the ledger must be signed by: --key, else this node's key if the state directory has one. */
function expectedKey(arg: string | undefined, stateDir: string): { key: Buffer; from: string } | undefined {
  if (arg !== undefined) return { key: publicKeyFromArg(arg), from: '--key' };
  const path = nodeKeyPath(stateDir);
  return existsSync(path) ? { key: loadKey(path).raw, from: path } : undefined;
}

async function verify(db: string, json: boolean, expected: { key: Buffer; from: string } | undefined): Promise<number> {
  const store = openLedgerReadonly(db);
  let report: VerifyReport;
  const tty = process.stderr.isTTY === true;
  let progressShown = false;
  try {
    report = await verifyLedgerParallel(store, {
      onProgress: (n) => {
        progressShown = true;
        process.stderr.write(`${tty ? '\r' : ''}ledger verify: ${n.toLocaleString('en-US')} entries checked…${tty ? '' : '\n'}`);
      },
    });
  } finally {
    store.close();
  }
  if (progressShown && tty) process.stderr.write('\n');
  if (report.ok && expected !== undefined && report.nodeKey !== hex(expected.key)) {
    report = { ...report, ok: false, problem: { message: `the ledger is signed by ${report.nodeKey}, not by the key of ${expected.from} (${hex(expected.key)}): it is not this node's ledger` } };
  }
  const rate = report.seconds > 0 ? Math.round(report.entries / report.seconds) : 0;
  if (json) {
    console.log(JSON.stringify({ path: db, ...report, entriesPerSecond: rate }));
  } else {
    console.log(`ledger ${db}: ${report.ok ? 'ok' : 'CORRUPT'}`);
    console.log(`  node key  ${report.nodeKey ?? '(none: no genesis)'}`);
    console.log(`  ${report.ok ? '' : 'checked before the problem: '}${report.entries} entries in ${report.epochs} epochs, ${report.wallets} wallets`);
    console.log(`  supply    ${j(report.supplyUj)} (minted ${j(report.mintedUj)}, burned ${j(report.burnedUj)})`);
    console.log(`  checked in ${report.seconds.toFixed(3)} s (${rate.toLocaleString('en-US')} entries/s)`);
  }
  if (report.ok) return 0;
  const p = report.problem!;
  const where = [p.seq === undefined ? null : `entry ${p.seq}`, p.epoch === undefined ? null : `epoch ${p.epoch}`].filter((x) => x !== null).join(', ');
  console.error(`maxwell ledger: ${ErrorCode.LEDGER_CORRUPT}: ${db}${where ? ` (${where})` : ''}: ${p.message}`);
  return 1;
}

/** Names for the wallets with a key in the state directory (best effort: a bad key file is skipped). */
function walletNames(stateDir: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const name of listWallets(stateDir)) {
    try {
      names.set(hex(loadKey(walletKeyPath(stateDir, name)).raw), name);
    } catch {
      // not a key we can read: shown by its hex
    }
  }
  return names;
}

/** The kind's own fields, for a text line. */
function extras(e: Entry): string {
  switch (e.kind) {
    case 'mint': return `period ${new Date(e.periodStartMs).toISOString()} +${((e.periodEndMs - e.periodStartMs) / 1000).toFixed(3)} s at ${e.powerCapMw / 1000} W`;
    case 'transfer': return `nonce ${e.nonce}`;
    case 'charge': return `pid ${e.pid}, fuel ${e.fuel}, energy ${j(e.energyUj)} (${e.basis}) at ${e.priceUtPerJ / 1_000_000} tokens/J`;
    case 'rent': return `pid ${e.pid}, ${e.periodMs} ms of ${e.memoryBytes} bytes`;
    case 'erasure_tax': return `pid ${e.pid}, ${e.bytes} bytes erased`;
    case 'reward': return `pid ${e.pid}, ${e.milliBits / 1000} bits`;
    case 'death': return `pid ${e.pid}, ${e.reason}`;
    case 'query_fee': return `pid ${e.pid}, ${e.samples} samples`;
    case 'grant': case 'burn': return '';
  }
}

/** One entry of a tail: decoded, or the reason it does not decode. */
export interface TailRow {
  seq: number;
  e: Entry | null;
  error?: string;
}

/**
 * The last `n` committed entries of a ledger store and its last signed epoch head (undefined when
 * nothing is committed yet), decoded. Shared by \`ledger tail\` and the node's API.
 */
export function readTail(store: SqliteStore, n: number): { nodeKey: Buffer | null; head: EpochRecord | undefined; from: number; rows: TailRow[] } {
  const g = store.genesis();
  const head = store.lastEpoch();
  if (head === undefined) return { nodeKey: g ? g.nodeKey : null, head, from: 0, rows: [] };
  const from = Math.max(0, head.treeSize - n);
  const rows: TailRow[] = [];
  for (const s of store.entries(from, head.treeSize)) {
    try {
      rows.push({ seq: s.seq, e: decodeEntry(s.bytes) });
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      rows.push({ seq: s.seq, e: null, error: `does not decode (${err.message}): run \`maxwell ledger verify\`` });
    }
  }
  return { nodeKey: g ? g.nodeKey : null, head, from, rows };
}

/** A tail as \`ledger tail --json\` prints it (without the path). */
export function tailJson(t: ReturnType<typeof readTail>): { node_key: string | null; head: Record<string, string | number> | null; entries: Record<string, string | number>[] } {
  const head = t.head;
  return {
    node_key: t.nodeKey ? hex(t.nodeKey) : null,
    head: head === undefined ? null : { epoch: head.epoch, tree_size: head.treeSize, time: new Date(head.timeMs).toISOString(), time_ms: head.timeMs, root: hex(head.root), signature: hex(head.signature) },
    entries: t.rows.map((r) => (r.e ? describeEntry(r.e) : { seq: r.seq, error: r.error! })),
  };
}

function tail(db: string, stateDir: string, n: number, json: boolean): number {
  const store = openLedgerReadonly(db);
  try {
    const t = readTail(store, n);
    const { head, from, rows } = t;
    if (head === undefined) {
      if (json) console.log(JSON.stringify({ path: db, node_key: t.nodeKey ? hex(t.nodeKey) : null, head: null, entries: [] }));
      else console.log(`ledger ${db}: no committed epoch yet (no entries)`);
      return 0;
    }
    const headJson = tailJson(t).head!;
    if (json) {
      console.log(JSON.stringify({ path: db, ...tailJson(t) }));
      return 0;
    }
    const names = walletNames(stateDir);
    const nodeHex = t.nodeKey ? hex(t.nodeKey) : '';
    const who = (w: Buffer): string => {
      if (w.equals(ZERO_WALLET)) return '∅';
      const h = hex(w);
      if (h === nodeHex) return 'treasury';
      return names.get(h) ?? `${h.slice(0, 8)}…`;
    };
    const seqWidth = String(head.treeSize - 1).length;
    for (const r of rows) {
      if (r.e === null) {
        console.log(`${String(r.seq).padStart(seqWidth)}  ${r.error}`);
        continue;
      }
      const e = r.e;
      const x = extras(e);
      console.log(`${String(e.seq).padStart(seqWidth)}  ${new Date(e.timeMs).toISOString()}  ${e.kind.padEnd(11)} ${`${who(e.from)} → ${who(e.to)}`.padEnd(24)} ${j(e.amountUj).padStart(20)}${x ? `  ${x}` : ''}`);
    }
    console.log(`epoch ${head.epoch}: tree size ${head.treeSize}, root ${hex(head.root)}, sealed ${headJson.time}${from > 0 ? ` (showing the last ${rows.length} of ${head.treeSize} entries)` : ''}`);
    return 0;
  } finally {
    store.close();
  }
}
