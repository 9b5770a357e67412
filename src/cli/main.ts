/**
 * The `maxwell` command line: one file per subcommand in src/cli/, each exporting
 * `run(argv): Promise<number>` (the exit code) and a one-line `summary`.
 * Operating errors (MaxwellError) are printed with their code and mapped to exit codes here,
 * at the edge, and nowhere else.
 */
import { MaxwellError, ErrorCode } from '../errors.js';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  run: () => import('./run.js'),
  demo: () => import('./demo.js'),
  calibrate: () => import('./calibrate.js'),
  sensors: () => import('./sensors.js'),
  config: () => import('./config.js'),
  bench: () => import('./bench.js'),
  wallet: () => import('./wallet.js'),
  ledger: () => import('./ledger.js'),
  receipt: () => import('./receipt.js'),
  prove: () => import('./prove.js'),
  verify: () => import('./verify.js'),
  up: () => import('./up.js'),
  ps: () => import('./ps.js'),
  kill: () => import('./kill.js'),
  sim: () => import('./sim.js'),
};

/** Exit codes follow sysexits(3) where one fits. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.BAD_ARGUMENT: return 64; // EX_USAGE
    // A simulation past one of the simulator's limits: ask for less (fewer nodes, a shorter run).
    case ErrorCode.SIM_LIMIT: return 64; // EX_USAGE
    // A node's API refused the request's shape: the flags' values, as the node checks them.
    case ErrorCode.BAD_REQUEST: return 64; // EX_USAGE
    // The node's API is not there (not running, wrong URL): a service unavailable.
    case ErrorCode.NODE_UNREACHABLE: return 69; // EX_UNAVAILABLE
    case ErrorCode.TREASURY_SHORT: return 75; // EX_TEMPFAIL: try again later
    // The node's API refused the token.
    case ErrorCode.UNAUTHORIZED: return 77; // EX_NOPERM
    case ErrorCode.FILE_UNREADABLE: return 66; // EX_NOINPUT
    // A key file that is missing or unreadable is missing input, like a file (EX_NOINPUT); so is
    // one that is not an Ed25519 key: the fix is the same, point at the right file.
    case ErrorCode.KEY_INVALID: return 66; // EX_NOINPUT
    // Ledger input that is well-formed as arguments but wrong as data: an amount, a wallet, a
    // nonce or a signature the ledger refuses, or a stored ledger that breaks its own rules.
    case ErrorCode.AMOUNT_INVALID:
    case ErrorCode.WALLET_INVALID:
    case ErrorCode.WALLET_UNKNOWN:
    case ErrorCode.NONCE_INVALID:
    case ErrorCode.SIGNATURE_INVALID:
    case ErrorCode.LEDGER_CORRUPT:
    case ErrorCode.TOO_LARGE:
    case ErrorCode.WASM_INVALID:
    case ErrorCode.IMPORT_MISSING:
    case ErrorCode.IMPORT_FORBIDDEN:
    case ErrorCode.FEATURE_UNSUPPORTED:
    case ErrorCode.EXPORT_MISSING:
    case ErrorCode.MODEL_INVALID:
    case ErrorCode.MODEL_UNKNOWN:
    case ErrorCode.CLAIM_INVALID:
    case ErrorCode.CLAIM_REPLAYED:
    case ErrorCode.PROOF_INVALID:
    case ErrorCode.PROOF_MALFORMED:
    case ErrorCode.VKEY_INVALID: return 65; // EX_DATAERR
    // A one-time step the operator has to run first: a configuration problem.
    case ErrorCode.SETUP_MISSING: return 78; // EX_CONFIG
    default: return 1;
  }
}

async function help(): Promise<string> {
  const lines = ['usage: maxwell <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const cmd = await load();
    lines.push(`  ${name.padEnd(11)} ${cmd.summary}`);
  }
  lines.push('', 'Run `maxwell <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name === undefined ? 64 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    console.error(`maxwell: unknown command '${name}'\n\n${await help()}`);
    return 64;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    if (err instanceof MaxwellError) {
      console.error(`maxwell ${name}: ${err.code}: ${err.message}`);
      return exitCodeFor(err.code);
    }
    throw err;
  }
}
