/**
 * `maxwell receipt`: a wallet's signed bill (src/ledger/receipt.ts), and its offline check.
 *
 *   get WALLET [--from TIME] [--to TIME] [--out FILE]   the node signs the bill of WALLET's entries in the range
 *   verify FILE --key PUBKEY                            checks a bill with the node's public key alone
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { formatUj, loadKey, publicKeyFromArg } from '../ledger/keys.js';
import { DEFAULT_STATE_DIR, ledgerPath, nodeKeyPath, openLedgerReadonly, resolveWallet } from '../ledger/node-files.js';
import { makeReceipt, verifyReceipt, type Receipt, type ReceiptTotals } from '../ledger/receipt.js';
import { subcommand, usage } from './args.js';

export const summary = "get a wallet's signed energy bill, or verify one offline with the node's public key";

const USAGE = `usage: maxwell receipt get WALLET [--from TIME] [--to TIME] [--out FILE] [--state DIR] [--db PATH]
       maxwell receipt verify FILE --key PUBKEY [--json]

  get WALLET    the bill of WALLET (64 hex digits, or a name from \`maxwell wallet new\`) for its
                committed entries timed in [--from, --to]: each entry's bytes, a decoded copy,
                and its Merkle inclusion proof against the node's latest signed epoch head, with
                totals (charged, fuel, energy, rent, taxes, rewards, grants, transfers), signed by
                the node's key (STATE/node-key.pem). Written as JSON to FILE (default: stdout); a
                one-line summary goes to stderr.
  verify FILE   checks a bill offline with the node's public key alone (no state directory
                needed): the head's signature, every inclusion proof, every decoded copy, that
                the wallet's balance chains from item to item (no entry left out), the totals and
                the bill's signature. Exit status 0 if valid, 1 if not (the problem is printed).

  --from TIME   the start of the range: ISO 8601 (2026-01-02T03:04:05Z) or ms since the Unix
                epoch (default 0)
  --to TIME     the end of the range, inclusive (default: now)
  --out FILE    write the bill to FILE instead of stdout
  --key PUBKEY  the node's public key: 64 hex digits (\`maxwell ledger verify --json\` prints it as
                nodeKey), or a PEM file holding the public key or the private key
  --state DIR   the node's state directory (default ${DEFAULT_STATE_DIR})
  --db PATH     the ledger file (default STATE/ledger.db)
  --json        verify: print the check as one JSON object
  -h, --help    show this help`;

const OPTIONS = {
  state: { type: 'string', default: DEFAULT_STATE_DIR },
  db: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
const SUBCOMMANDS: Record<string, string[]> = {
  get: ['state', 'db', 'from', 'to', 'out', 'help'],
  verify: ['key', 'json', 'help'],
};

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = usage(() => parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true }));
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 64;
  }
  const { sub, rest } = subcommand('receipt', positionals, tokens, SUBCOMMANDS);
  if (rest.length !== 1) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, sub === 'get' ? 'usage: maxwell receipt get WALLET [--from TIME] [--to TIME] [--out FILE]' : 'usage: maxwell receipt verify FILE --key PUBKEY');
  if (sub === 'get') {
    const now = Date.now();
    const fromMs = parseTime('from', values.from, 0);
    const toMs = parseTime('to', values.to, now);
    if (fromMs > toMs) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--from (${new Date(fromMs).toISOString()}) is after --to (${new Date(toMs).toISOString()})`);
    return get(values.state, values.db ?? ledgerPath(values.state), rest[0]!, fromMs, toMs, values.out);
  }
  if (values.key === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, "receipt verify needs --key PUBKEY: the node's public key (64 hex digits) or a PEM key file");
  return verify(rest[0]!, values.key, values.json);
}

/** A TIME: ms since the Unix epoch (digits only), or an ISO 8601 date or date-time. */
export function parseTime(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  let ms = NaN;
  if (/^\d{1,16}$/.test(raw)) ms = Number(raw);
  else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)) ms = Date.parse(raw);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--${name} is an ISO 8601 time (2026-01-02T03:04:05Z) or ms since the Unix epoch, not '${raw}'`);
  }
  return ms;
}

const j = (uj: number) => `${formatUj(uj)} J`;
/** An ISO time, or the ms when they are past what Date can show. */
const iso = (ms: number) => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`);

function epochsText(epochs: number[]): string {
  if (epochs.length === 0) return 'no epochs';
  if (epochs.length === 1) return `epoch ${epochs[0]}`;
  return `${epochs.length} epochs (${epochs[0]}–${epochs[epochs.length - 1]})`;
}

/** The totals that are not zero, beyond the charge: "rent X J, granted Y J, ...". */
function otherTotals(t: ReceiptTotals): string[] {
  const parts: [string, number][] = [
    ['rent', t.rent_uj], ['erasure tax', t.erasure_tax_uj], ['death tax', t.death_uj], ['rewards', t.rewards_uj], ['query fees', t.query_fees_uj],
    ['granted', t.granted_uj], ['transferred in', t.transferred_in_uj], ['transferred out', t.transferred_out_uj],
  ];
  return parts.filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${j(v)}`);
}

function get(stateDir: string, db: string, walletArg: string, fromMs: number, toMs: number, out: string | undefined): number {
  const wallet = resolveWallet(stateDir, walletArg);
  const store = openLedgerReadonly(db);
  let r: Receipt;
  try {
    // The node's key must already exist: a bill is signed by the key that owns the ledger, never by a new one.
    const keyPath = nodeKeyPath(stateDir);
    if (!existsSync(keyPath)) throw new MaxwellError(ErrorCode.KEY_INVALID, `no node key at ${keyPath}: the bill is signed by the key of the node that owns ${db}`, { path: keyPath });
    r = makeReceipt(store, loadKey(keyPath), wallet, fromMs, toMs);
  } finally {
    store.close();
  }
  const text = `${JSON.stringify(r, null, 2)}\n`;
  if (out === undefined) process.stdout.write(text);
  else {
    try {
      writeFileSync(out, text);
    } catch (err) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path: out });
    }
  }
  const t = r.totals;
  process.stderr.write(`receipt: ${t.entries} items for wallet ${r.wallet.slice(0, 12)}…, charged ${j(t.charged_uj)} for ${j(t.energy_uj)} of energy, ${epochsText(t.epochs)}` +
    `${otherTotals(t).map((s) => `, ${s}`).join('')}; head epoch ${r.head.epoch}${out === undefined ? '' : ` → ${out}`}\n`);
  return 0;
}


function verify(file: string, keyArg: string, json: boolean): number {
  const key = publicKeyFromArg(keyArg);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path: file });
  }
  let parsed: unknown;
  let check: ReturnType<typeof verifyReceipt>;
  try {
    parsed = JSON.parse(text);
    check = verifyReceipt(parsed, key);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    check = { ok: false, problem: `not JSON: ${err.message}`, items: 0 };
  }
  if (json) {
    console.log(JSON.stringify({ file, ...check }));
    return check.ok ? 0 : 1;
  }
  if (!check.ok) {
    console.error(`maxwell receipt: ${ErrorCode.RECEIPT_INVALID}: ${file} is not valid${check.seq === undefined ? '' : ` (item ${check.seq})`}: ${check.problem}`);
    return 1;
  }
  const r = parsed as Receipt;
  const t = check.totals!;
  const more = otherTotals(t);
  console.log(`valid: ${check.items} entries, charged ${j(t.charged_uj)} for ${j(t.energy_uj)} of energy (fuel ${t.fuel})${more.map((s) => `, ${s}`).join('')}; ${epochsText(t.epochs)}`);
  console.log(`wallet ${r.wallet}, ${iso(r.from_ms)} to ${iso(r.to_ms)}` +
    `${r.closing_balance_uj === null ? '' : `, closing balance ${j(r.closing_balance_uj)}`}`);
  console.log(`signed by node ${r.node_key}; in its log as of epoch ${r.head.epoch} (tree size ${r.head.tree_size}, root ${r.head.root.slice(0, 16)}…)`);
  return 0;
}
