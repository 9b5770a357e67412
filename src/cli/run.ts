/**
 * `maxwell run FILE.wasm`: run one WASI command on an embedded node until it exits or dies.
 * `maxwell run --node URL FILE.wasm`: submit it to a running node (`maxwell up`) instead, and
 * follow it there until it dies.
 */
import { parseArgs } from 'node:util';
import { basename, join } from 'node:path';
import { ErrorCode, MaxwellError } from '../errors.js';
import { compileModule, readModuleFile } from '../runtime/module.js';
import { WorkerPool } from '../runtime/pool.js';
import { WASM_PAGE_BYTES } from '../runtime/instrument.js';
import { fuelToJoules, joulesToFuel, loadCalibration } from '../energy/calibration.js';
import { generateKey } from '../ledger/keys.js';
import { resolveWallet } from '../ledger/node-files.js';
import { NodeClient, resolveNode, type ApiProcess } from '../api/client.js';
import { positiveInteger, positiveNumber, usage } from './args.js';
import type { ExitReason } from '../runtime/process.js';

export const summary = 'run one WebAssembly (WASI) program on an embedded node, or on a running one (--node), until it exits or dies';

const HELP = `usage: maxwell run FILE.wasm [--budget J] [--memory MiB] [--json] [-- ARGS...]
       maxwell run --node URL FILE.wasm [--wallet NAME|HEX] [--fund J] [--bid P] [--memory MiB] [--json] [-- ARGS...]

Runs FILE.wasm (a WASI preview1 command: its _start) as a metered process on an embedded node.

With --node, submits it to a running node (\`maxwell up\`) instead, where it is auctioned slots,
pays for them, rent and tax from a wallet, and dies when that runs out; follows it until it is
dead, then prints its output and exit as the embedded mode does. Ctrl-C kills it on the node.

options:
  --budget J       energy budget in joules (default 100); running out is apoptosis (embedded)
  --memory MiB     memory limit (default 256 embedded; the node's default, 64, with --node)
  --json           print one JSON object: pid, exit, fuel, energy_j, energy_source, wall_ms, stdout
  --state DIR      where the calibration (and, with --node, wallets/ and api-token) are read from
                   (default ./.maxwell)
  -h, --help       this help

with --node URL (the node's API, e.g. http://127.0.0.1:7070: see STATE/api.json):
  --wallet W       the paying wallet: a name in STATE/wallets/ or 64 hex digits; it must be funded
                   on the node (or use --fund). Default: a new one-off wallet, funded with --fund
  --fund J         grant J from the node's treasury to the wallet first (default 10 with a one-off
                   wallet, none with --wallet)
  --bid P          standing bid, tokens/J (default: the node's base price)
  --token TOKEN    the node's API token (default: $MAXWELL_TOKEN, else STATE/api-token)

exit status: the program's own exit code when it exits; 3 apoptosis, 4 trap, 5 killed,
65 invalid module, 64 bad usage; with --node also 69 node unreachable, 77 token refused.
Energy figures are estimated by the calibrated model (run \`maxwell calibrate\` first for this
machine's constant).`;

const STATUS: Record<ExitReason, number> = { exit: 0, apoptosis: 3, trap: 4, killed: 5, invalid: 65 };
/** The options only --node takes, and the one it does not. */
const NODE_ONLY = ['wallet', 'fund', 'bid', 'token'] as const;
/** A one-off wallet's grant when --fund is not given (J). */
const DEFAULT_FUND_J = 10;
const POLL_MS = 100;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      budget: { type: 'string' },
      memory: { type: 'string' },
      node: { type: 'string' },
      wallet: { type: 'string' },
      fund: { type: 'string' },
      bid: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean', default: false },
      state: { type: 'string', default: '.maxwell' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [file, ...args] = positionals;
  if (file === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `missing FILE.wasm\n\n${HELP}`);
  if (values.node !== undefined) {
    if (values.budget !== undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, '--budget is for the embedded node; on a node (--node) a process runs while its wallet pays: fund it with --fund J');
    return runOnNode({ url: values.node, file, args, json: values.json, stateDir: values.state, memory: values.memory, wallet: values.wallet, fund: values.fund, bid: values.bid, token: values.token });
  }
  for (const o of NODE_ONLY) {
    if (values[o] !== undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--${o} is an option of \`run --node URL\` (a running node), not of the embedded node`);
  }
  const budgetJ = positiveNumber('budget', values.budget, 100);
  const memoryMiB = positiveInteger('memory', values.memory, 256);
  if (memoryMiB > 4096) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, '--memory is at most 4096 MiB (a 32-bit Wasm memory)');
  const calibration = await loadCalibration(values.state);
  const started = performance.now();

  const report = (r: {
    pid: number | null; reason: ExitReason; code: number | string | null; message: string; fuel: number; stdout: string; stderr: string;
    wallMs: number;
  }): number => {
    const energy = fuelToJoules(r.fuel, calibration);
    const wallMs = r.wallMs;
    if (values.json) {
      console.log(JSON.stringify({
        pid: r.pid,
        exit: { reason: r.reason, code: r.code, message: r.message },
        fuel: r.fuel,
        energy_j: energy.energyJ,
        energy_source: energy.source,
        energy_basis: energy.basis,
        wall_ms: Math.round(wallMs * 1000) / 1000,
        stdout: r.stdout,
        stderr: r.stderr,
      }));
    } else {
      if (r.stdout) process.stdout.write(r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`);
      if (r.stderr) process.stderr.write(r.stderr.endsWith('\n') ? r.stderr : `${r.stderr}\n`);
      const how = r.reason === 'exit' ? `exited with code ${r.code}` : `${r.reason} (${r.code}): ${r.message}`;
      console.error(`maxwell: ${file} ${how}`);
      console.error(`maxwell: fuel ${r.fuel.toLocaleString('en-US')}, energy ${energy.energyJ.toFixed(4)} J (estimated, ${energy.basis} model), ran ${wallMs.toFixed(1)} ms (measured wall time; load ${(performance.now() - started - wallMs).toFixed(0)} ms)`);
    }
    return r.reason === 'exit' ? (typeof r.code === 'number' ? r.code & 0xff : 0) : STATUS[r.reason];
  };

  let compiled;
  try {
    compiled = await compileModule(await readModuleFile(file), { cacheDir: join(values.state, 'cache') });
  } catch (err) {
    if (err instanceof MaxwellError && err.code !== ErrorCode.FILE_UNREADABLE) {
      return report({ pid: null, reason: 'invalid', code: err.code, message: err.message, fuel: 0, stdout: '', stderr: '', wallMs: 0 });
    }
    throw err;
  }
  const pool = new WorkerPool({ workers: 1, jPerFuel: calibration.jPerFuel });
  await pool.start();
  try {
    let spawned;
    try {
      spawned = await pool.spawn(compiled, {
        budgetFuel: joulesToFuel(budgetJ, calibration),
        memoryLimitPages: Math.floor((memoryMiB * 2 ** 20) / WASM_PAGE_BYTES),
        args: [file, ...args],
        env: [],
      });
    } catch (err) {
      if (err instanceof MaxwellError) {
        return report({ pid: null, reason: 'invalid', code: err.code, message: err.message, fuel: 0, stdout: '', stderr: '', wallMs: 0 });
      }
      throw err;
    }
    const onSignal = () => pool.kill(spawned.pid, 'interrupted (SIGINT)');
    process.once('SIGINT', onSignal);
    const f = await spawned.done;
    process.off('SIGINT', onSignal);
    return report({
      pid: f.pid,
      reason: f.exit.reason,
      code: f.exit.reason === 'exit' ? f.exit.code : f.exit.errorCode,
      message: f.exit.message,
      fuel: f.fuelUsed,
      stdout: f.stdout,
      stderr: f.stderr,
      wallMs: f.wallMs,
    });
  } finally {
    await pool.stop();
  }
}

/** The agent name a file is submitted under: its base name, in the API's alphabet. */
export function agentName(file: string): string {
  const name = basename(file).replace(/\.wasm$/i, '').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return name === '' ? 'program' : name;
}

async function runOnNode(o: {
  url: string; file: string; args: string[]; json: boolean; stateDir: string;
  memory: string | undefined; wallet: string | undefined; fund: string | undefined; bid: string | undefined; token: string | undefined;
}): Promise<number> {
  const memoryMiB = o.memory === undefined ? undefined : positiveInteger('memory', o.memory, 64);
  if (memoryMiB !== undefined && memoryMiB > 4096) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, '--memory is at most 4096 MiB (a 32-bit Wasm memory)');
  const bid = o.bid === undefined ? undefined : positiveNumber('bid', o.bid, 1);
  const wallet = o.wallet === undefined ? generateKey().raw : resolveWallet(o.stateDir, o.wallet);
  const fundJ = o.fund === undefined ? (o.wallet === undefined ? DEFAULT_FUND_J : undefined) : positiveNumber('fund', o.fund, DEFAULT_FUND_J);
  const module = await readModuleFile(o.file);
  const client = new NodeClient(resolveNode({ node: o.url, token: o.token, stateDir: o.stateDir }));
  const walletHex = wallet.toString('hex');
  if (fundJ !== undefined) await client.fund(walletHex, fundJ);

  const report = (p: { pid: number | null; reason: string; code: number | string | null; message: string; view?: ApiProcess; wallMs: number }): number => {
    const v = p.view;
    if (o.json) {
      console.log(JSON.stringify({
        pid: p.pid,
        exit: { reason: p.reason, code: p.code, message: p.message },
        fuel: v?.fuel ?? 0,
        energy_j: v?.energy_j ?? 0,
        energy_source: v?.energy_source ?? 'estimated',
        wall_ms: Math.round(p.wallMs * 1000) / 1000,
        stdout: v?.stdout ?? '',
        stderr: v?.stderr ?? '',
        node: client.target.url,
        wallet: walletHex,
        charged_j: v?.charged_j ?? 0,
        rent_j: v?.rent_j ?? 0,
        tax_j: v?.tax_j ?? 0,
        balance_j: v?.balance_j ?? null,
      }));
    } else {
      if (v?.stdout) process.stdout.write(v.stdout.endsWith('\n') ? v.stdout : `${v.stdout}\n`);
      if (v?.stderr) process.stderr.write(v.stderr.endsWith('\n') ? v.stderr : `${v.stderr}\n`);
      const how = p.reason === 'exit' ? `exited with code ${p.code}` : `${p.reason} (${p.code}): ${p.message}`;
      console.error(`maxwell: ${o.file} ${how}`);
      if (v !== undefined) {
        console.error(`maxwell: pid ${v.pid} on ${client.target.url}: fuel ${v.fuel.toLocaleString('en-US')}, energy ${v.energy_j.toFixed(6)} J (${v.energy_source}), charged ${v.charged_j.toFixed(6)} J, rent ${v.rent_j.toFixed(6)} J, tax ${v.tax_j.toFixed(6)} J; wallet ${walletHex.slice(0, 16)}… has ${v.balance_j.toFixed(6)} J left`);
      }
    }
    const reason = p.reason as ExitReason;
    return reason === 'exit' ? (typeof p.code === 'number' ? p.code & 0xff : 0) : STATUS[reason] ?? 1;
  };

  const started = performance.now();
  let submitted: ApiProcess;
  try {
    submitted = await client.submit({
      module, agent: agentName(o.file), wallet: walletHex, args: o.args,
      ...(bid === undefined ? {} : { bid }), ...(memoryMiB === undefined ? {} : { memoryMiB }),
    });
  } catch (err) {
    // A module the node refuses is reported as the embedded mode does: reason invalid, exit 65.
    if (err instanceof MaxwellError && MODULE_CODES.has(err.code)) {
      return report({ pid: null, reason: 'invalid', code: err.code, message: err.message, wallMs: 0 });
    }
    throw err;
  }
  const pid = submitted.pid;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    client.kill(pid).catch(() => {}); // already dead, or the node went away: the poll says which
  };
  process.on('SIGINT', onSignal);
  try {
    let v = submitted;
    while (v.state !== 'dead') {
      await new Promise((r) => setTimeout(r, POLL_MS));
      v = await client.inspect(pid);
    }
    const exit = v.exit!;
    return report({
      pid, reason: exit.reason, code: exit.reason === 'exit' ? exit.code : exit.error_code, message: exit.message, view: v, wallMs: performance.now() - started,
    });
  } finally {
    process.off('SIGINT', onSignal);
  }
}

const MODULE_CODES = new Set<ErrorCode>([
  ErrorCode.WASM_INVALID, ErrorCode.IMPORT_MISSING, ErrorCode.IMPORT_FORBIDDEN, ErrorCode.FEATURE_UNSUPPORTED, ErrorCode.EXPORT_MISSING, ErrorCode.TOO_LARGE,
]);
