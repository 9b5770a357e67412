/**
 * `maxwell wallet`: wallet keys and the operator's side of the energy ledger (src/ledger/).
 *
 *   new NAME                            a key pair in STATE/wallets/NAME.pem; prints the wallet (public key)
 *   balance WALLET                      a wallet's balance, from the node's ledger
 *   grant WALLET JOULES                 mints what the power cap accrued, then pays the wallet from the treasury
 *   transfer --from NAME --to WALLET J  a transfer signed with NAME's key
 *   list                                the named wallets, their keys and balances
 *
 * Writes are durable before the command returns: the ledger is sealed (one signed epoch, one
 * fsynced SQLite transaction) and closed, and the output names the epoch.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { hex, MAX_UJ, transferMessage } from '../ledger/format.js';
import { formatUj, generateKey, loadKey, parseJoulesToUj, saveNewKey, signWith } from '../ledger/keys.js';
import type { Ledger, Outcome } from '../ledger/ledger.js';
import {
  DEFAULT_POWER_CAP_W, DEFAULT_STATE_DIR, ledgerPath, listWallets, openLedgerReadonly, openNodeLedger, resolveWallet,
  walletDir, walletKey, walletKeyPath,
} from '../ledger/node-files.js';
import { positiveNumber, usage } from './args.js';

export const summary = 'make wallet keys, grant energy tokens from the treasury, transfer them, show balances';

const USAGE = `usage: maxwell wallet new NAME
       maxwell wallet balance WALLET
       maxwell wallet grant WALLET JOULES
       maxwell wallet transfer --from NAME --to WALLET JOULES
       maxwell wallet list
   common options: [--state DIR] [--db PATH] [--power-cap W] [--json]

Wallets of the node's energy ledger. 1 token = 1 J of the node's energy budget; amounts are
exact to the microjoule (µJ). A WALLET is a public key in hex (64 digits) or the name of a key
made by \`wallet new\` (STATE/wallets/NAME.pem). JOULES has at most 6 decimals ("0.5", "12.000001").

  new NAME        make a key pair, saved in STATE/wallets/NAME.pem (mode 0600, never
                  overwritten), and print its wallet (the public key). A wallet is known to the
                  ledger once it has been paid: grant it something.
  balance WALLET  the wallet's balance in J and µJ. Opens the node's ledger (creating it, and the
                  node key, on first use: the treasury accrues from then on).
  grant WALLET J  first mints into the treasury what the power cap accrued since the last mint,
                  then pays J from the treasury to WALLET. Exit status 1 if the treasury cannot
                  cover it (the output says how long the cap needs to accrue it).
  transfer --from NAME --to WALLET J
                  pays J from the named wallet to WALLET, signed with NAME's key over the
                  sender's next nonce. Both wallets must already be known to the ledger.
  list            the named wallets, their keys and balances, and the treasury's.

Grants and transfers are durable when the command returns: the output names the signed epoch
that holds them.

  --state DIR     the node's state directory (default ${DEFAULT_STATE_DIR}): node-key.pem, wallets/, ledger.db
  --db PATH       the ledger file (default STATE/ledger.db)
  --power-cap W   the node's power cap, which mints accrue at (W = J/s; default: the cap the ledger
                  was created with, or ${DEFAULT_POWER_CAP_W} W for a new ledger; at most the cap it was
                  created with)
  --json          print one JSON object instead of text
  -h, --help      show this help

Exit status: 0 done; 1 insufficient funds; 64 usage; 65 bad amount, wallet, nonce or signature
(E_AMOUNT_INVALID, E_WALLET_INVALID, E_WALLET_UNKNOWN, ...); 66 missing key or ledger.`;

const OPTIONS = {
  state: { type: 'string', default: DEFAULT_STATE_DIR },
  db: { type: 'string' },
  'power-cap': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
const COMMON = ['state', 'db', 'power-cap', 'json', 'help'];
const SUBCOMMANDS: Record<string, { args: string[]; options: string[] }> = {
  new: { args: ['NAME'], options: ['state', 'json', 'help'] },
  balance: { args: ['WALLET'], options: COMMON },
  grant: { args: ['WALLET', 'JOULES'], options: COMMON },
  transfer: { args: ['JOULES'], options: [...COMMON, 'from', 'to'] },
  list: { args: [], options: COMMON },
};

// A negative amount ("-1") would read as an option to parseArgs: it is passed through marked,
// so that it reaches parseJoulesToUj and is refused as an amount (E_AMOUNT_INVALID).
const NEG = '\u0000';
const protect = (a: string) => (/^-\d/.test(a) ? NEG + a : a);
const unprotect = (a: string) => (a.startsWith(NEG) ? a.slice(1) : a);

interface Common {
  stateDir: string;
  db: string;
  json: boolean;
  powerCapW: number | undefined;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = usage(() => parseArgs({ args: argv.map(protect), options: OPTIONS, allowPositionals: true, tokens: true }));
  const pos = positionals.map(unprotect);
  if (values.help || pos.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 64;
  }
  const [sub, ...rest] = pos as [string, ...string[]];
  const spec = SUBCOMMANDS[sub];
  if (spec === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `unknown subcommand '${sub}': one of ${Object.keys(SUBCOMMANDS).join(', ')} (maxwell wallet --help)`);
  for (const t of tokens) {
    if (t.kind === 'option' && !spec.options.includes(t.name)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--${t.name} is not an option of \`wallet ${sub}\``);
  }
  if (rest.length !== spec.args.length) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `usage: maxwell wallet ${sub}${sub === 'transfer' ? ' --from NAME --to WALLET' : ''}${spec.args.map((a) => ` ${a}`).join('')} (got ${rest.length} argument${rest.length === 1 ? '' : 's'})`);
  }
  const stateDir = values.state;
  const c: Common = {
    stateDir,
    db: values.db === undefined ? ledgerPath(stateDir) : unprotect(values.db),
    json: values.json,
    powerCapW: values['power-cap'] === undefined ? undefined : positiveNumber('power-cap', unprotect(values['power-cap']), DEFAULT_POWER_CAP_W),
  };
  switch (sub) {
    case 'new': return walletNew(c, rest[0]!);
    case 'balance': return balance(c, rest[0]!);
    case 'grant': return grant(c, rest[0]!, rest[1]!);
    case 'transfer': {
      if (values.from === undefined || values.to === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, 'wallet transfer needs --from NAME and --to WALLET');
      return transfer(c, unprotect(values.from), unprotect(values.to), rest[0]!);
    }
    default: return list(c);
  }
}

/** JOULES to µJ, exactly; refused (E_AMOUNT_INVALID) beyond what the ledger can hold. */
function amount(s: string): number {
  const uj = parseJoulesToUj(s);
  if (!Number.isSafeInteger(uj) || uj > MAX_UJ) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `an amount is at most ${formatUj(MAX_UJ)} J, not '${s}'`);
  return uj;
}

const j = (uj: number) => `${formatUj(uj)} J`;
const short = (w: Buffer | string) => `${(typeof w === 'string' ? w : hex(w)).slice(0, 12)}…`;
/** How to name a wallet given as `arg` in the output: its name, or its key shortened. */
const label = (arg: string, w: Buffer) => (arg.toLowerCase() === hex(w) ? short(w) : arg);

/** The power cap to open with: the one given, else the one the ledger was created with (its maximum), else the default. */
function powerCap(c: Common): number {
  if (c.powerCapW !== undefined) return c.powerCapW;
  if (!existsSync(c.db)) return DEFAULT_POWER_CAP_W;
  const store = openLedgerReadonly(c.db);
  try {
    const g = store.genesis();
    return g === undefined ? DEFAULT_POWER_CAP_W : g.maxPowerCapMw / 1000;
  } finally {
    store.close();
  }
}

function open(c: Common): Ledger {
  return openNodeLedger({ stateDir: c.stateDir, db: c.db, powerCapW: powerCap(c) });
}

function walletNew(c: Common, name: string): number {
  if (/^[0-9a-fA-F]{64}$/.test(name)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, 'a wallet name cannot be 64 hex digits: it would read as a public key');
  const path = walletKeyPath(c.stateDir, name);
  const k = generateKey();
  saveNewKey(path, k);
  if (c.json) console.log(JSON.stringify({ name, wallet: hex(k.raw), path }));
  else {
    console.log(`wallet ${name}: ${hex(k.raw)}`);
    console.log(`key saved in ${path} (mode 0600). The ledger knows the wallet once it is paid: maxwell wallet grant ${name} JOULES`);
  }
  return 0;
}

/** What the balance figure covers: the durable log (nothing pending) or also entries not yet sealed. */
function coverage(l: Ledger): { epoch: number | null; pending: number; text: string } {
  const epoch = l.lastEpoch?.epoch ?? null;
  const pending = l.pendingCount;
  const upTo = epoch === null ? 'no epoch committed yet' : `through epoch ${epoch}`;
  const text = pending === 0 ? `durable log only (${upTo}; nothing pending)` : `everything: the durable log (${upTo}) and ${pending} entries not yet durable`;
  return { epoch, pending, text };
}

function balance(c: Common, walletArg: string): number {
  const wallet = resolveWallet(c.stateDir, walletArg);
  const l = open(c);
  try {
    const uj = l.balanceOf(wallet);
    const treasury = wallet.equals(l.nodeWallet);
    const cov = coverage(l);
    if (c.json) {
      console.log(JSON.stringify({ wallet: hex(wallet), name: label(walletArg, wallet) === walletArg ? walletArg : null, balance_uj: uj ?? 0, known: uj !== undefined, treasury, epoch: cov.epoch, pending: cov.pending }));
    } else {
      const who = `${label(walletArg, wallet) === walletArg ? `${walletArg} (${short(wallet)})` : short(wallet)}${treasury ? ' [treasury]' : ''}`;
      console.log(`${who}: ${j(uj ?? 0)} (${uj ?? 0} µJ)${uj === undefined ? ', never paid: not yet a wallet of this ledger' : ''}`);
      console.log(`includes the ${cov.text}`);
    }
    return 0;
  } finally {
    l.close();
  }
}

/** Explains an outcome; returns the exit status. */
function refused(o: Extract<Outcome, { kind: 'insufficient_funds' }>, payer: string, l: Ledger, json: boolean, extra: Record<string, unknown>): number {
  const capUjPerS = Math.round(l.powerCapW * 1_000_000);
  if (json) {
    console.log(JSON.stringify({ ok: false, outcome: 'insufficient_funds', need_uj: o.needUj, have_uj: o.haveUj, power_cap_w: l.powerCapW, ...extra }));
  } else if (payer === 'treasury') {
    const waitS = (o.needUj - o.haveUj) / capUjPerS;
    console.log(`insufficient funds: the treasury has ${j(o.haveUj)}, the grant needs ${j(o.needUj)}; the power cap accrues ${j(capUjPerS)}/s (${l.powerCapW} W): ` +
      `about ${waitS < 1 ? waitS.toFixed(3) : waitS.toFixed(1)} s more, or grant less`);
  } else {
    console.log(`insufficient funds: ${payer} has ${j(o.haveUj)}, the transfer needs ${j(o.needUj)}`);
  }
  return 1;
}

function grant(c: Common, walletArg: string, joules: string): number {
  const uj = amount(joules);
  const to = resolveWallet(c.stateDir, walletArg);
  const l = open(c);
  try {
    const m = l.mint();
    const mintedUj = m.kind === 'ok' ? m.amountUj : 0;
    const mintLine = mintedUj > 0
      ? `minted ${j(mintedUj)} into the treasury: what ${l.powerCapW} W accrued over ${(mintedUj / (l.powerCapW * 1e6)).toFixed(3)} s since the last mint (entry ${(m as { seq: number }).seq})`
      : 'minted nothing: no energy accrued since the last mint';
    const o = l.grant(to, uj);
    if (o.kind === 'insufficient_funds') {
      const ep = l.seal(); // the mint, if any, is kept
      if (!c.json) {
        console.log(mintLine);
        if (ep !== undefined) console.log(`(the mint is durable in epoch ${ep.epoch})`);
      }
      return refused(o, 'treasury', l, c.json, { minted_uj: mintedUj, epoch: ep?.epoch ?? null });
    }
    const ep = l.seal()!;
    const bal = l.balanceOf(to)!;
    const treasury = l.balanceOf(l.nodeWallet) ?? 0;
    if (c.json) {
      console.log(JSON.stringify({ ok: true, minted_uj: mintedUj, seq: o.seq, wallet: hex(to), amount_uj: o.amountUj, balance_uj: bal, treasury_uj: treasury, epoch: ep.epoch, tree_size: ep.treeSize }));
    } else {
      console.log(mintLine);
      console.log(`granted ${j(o.amountUj)} to ${label(walletArg, to)} (entry ${o.seq}): balance ${j(bal)}; treasury ${j(treasury)}`);
      console.log(`durable in epoch ${ep.epoch} (tree size ${ep.treeSize}, root ${hex(ep.root).slice(0, 16)}…)`);
    }
    return 0;
  } finally {
    l.close();
  }
}

function transfer(c: Common, fromName: string, toArg: string, joules: string): number {
  const uj = amount(joules);
  const key = walletKey(c.stateDir, fromName);
  const to = resolveWallet(c.stateDir, toArg);
  const l = open(c);
  try {
    const nonce = l.nextNonce(key.raw);
    const signature = signWith(key, transferMessage(l.nodeWallet, key.raw, to, uj, nonce));
    const o = l.transfer({ from: key.raw, to, amountUj: uj, nonce, signature });
    if (o.kind === 'insufficient_funds') return refused(o, fromName, l, c.json, {});
    const ep = l.seal()!;
    const fromBal = l.balanceOf(key.raw)!;
    const toBal = l.balanceOf(to)!;
    if (c.json) {
      console.log(JSON.stringify({ ok: true, seq: o.seq, from: hex(key.raw), to: hex(to), amount_uj: o.amountUj, nonce, from_balance_uj: fromBal, to_balance_uj: toBal, epoch: ep.epoch, tree_size: ep.treeSize }));
    } else {
      const toName = label(toArg, to);
      console.log(`transferred ${j(o.amountUj)} from ${fromName} to ${toName} (entry ${o.seq}, nonce ${nonce}): ${fromName} ${j(fromBal)}, ${toName} ${j(toBal)}`);
      console.log(`durable in epoch ${ep.epoch} (tree size ${ep.treeSize})`);
    }
    return 0;
  } finally {
    l.close();
  }
}

function list(c: Common): number {
  const names = listWallets(c.stateDir);
  const rows: { name: string; wallet: string | null; balance_uj: number | null; known: boolean; error?: string }[] = [];
  for (const name of names) {
    try {
      rows.push({ name, wallet: hex(loadKey(walletKeyPath(c.stateDir, name)).raw), balance_uj: null, known: false });
    } catch (err) {
      if (!(err instanceof MaxwellError)) throw err;
      rows.push({ name, wallet: null, balance_uj: null, known: false, error: err.message });
    }
  }
  // Listing does not create a ledger: without one there are keys but no balances.
  let treasury: { wallet: string; balance_uj: number } | null = null;
  let cov: ReturnType<typeof coverage> | null = null;
  if (existsSync(c.db)) {
    const l = open(c);
    try {
      for (const r of rows) {
        if (r.wallet === null) continue;
        const b = l.balanceOf(Buffer.from(r.wallet, 'hex'));
        r.balance_uj = b ?? 0;
        r.known = b !== undefined;
      }
      treasury = { wallet: hex(l.nodeWallet), balance_uj: l.balanceOf(l.nodeWallet) ?? 0 };
      cov = coverage(l);
    } finally {
      l.close();
    }
  }
  if (c.json) {
    console.log(JSON.stringify({ wallets: rows, treasury, ledger: existsSync(c.db) ? c.db : null, epoch: cov?.epoch ?? null }));
    return 0;
  }
  if (rows.length === 0) console.log(`no wallets in ${walletDir(c.stateDir)}: make one with \`maxwell wallet new NAME\``);
  const width = Math.max(8, ...rows.map((r) => r.name.length));
  for (const r of rows) {
    if (r.wallet === null) console.log(`${r.name.padEnd(width)}  (unreadable key: ${r.error})`);
    else console.log(`${r.name.padEnd(width)}  ${r.wallet}  ${r.balance_uj === null ? '—' : `${j(r.balance_uj)}${r.known ? '' : ' (never paid)'}`}`);
  }
  if (treasury !== null) console.log(`${'treasury'.padEnd(width)}  ${treasury.wallet}  ${j(treasury.balance_uj)}`);
  if (cov === null) console.log(`no ledger at ${c.db} yet: balances appear after the first grant`);
  else console.log(`balances include the ${cov.text}`);
  return 0;
}
