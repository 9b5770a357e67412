/**
 * `maxwell ps`: the processes of a running node (`maxwell up`), through its API.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { DEFAULT_STATE_DIR } from '../ledger/node-files.js';
import { NodeClient, resolveNode, type ApiProcess } from '../api/client.js';
import { alignColumns } from './table.js';
import { usage } from './args.js';

export const summary = "list a running node's processes (pid, state, bid, balance, energy, rent, tax)";

const HELP = `usage: maxwell ps [--node URL] [--state DIR] [--json]

Lists the processes of a running node (\`maxwell up\`): the live ones and the most recent dead
ones, newest first. Amounts are J of tokens; energy is estimated by the calibrated model.

options:
  --node URL    the node's API (default: the url in STATE/api.json)
  --state DIR   the node's state directory (default ${DEFAULT_STATE_DIR})
  --json        print the API's JSON: {"processes": [...]}
  -h, --help    this help`;

/** Amounts to 6 decimals (the ledger's µJ), trailing zeros kept so that columns line up. */
const j = (x: number) => x.toFixed(6);

/** The table `ps` prints (exported for tests). */
export function table(ps: ApiProcess[]): string {
  // Proof of useful work, where a process was given queries: what it earned, and its verified bits per J.
  const proofs = ps.some((p) => p.proof !== undefined);
  const head = ['PID', 'AGENT', 'STATE', 'BID', 'BALANCE J', 'ENERGY J (est.)', 'RENT J', 'TAX J', ...(proofs ? ['EARNED J', 'BITS/J (est.)'] : []), 'EXIT'];
  const rows = ps.map((p) => [
    String(p.pid), p.agent, p.state, String(p.bid), j(p.balance_j), j(p.energy_j), j(p.rent_j), j(p.tax_j),
    ...(proofs ? (p.proof === undefined ? ['', ''] : [j(p.proof.reward_j), p.proof.bits_per_j.toFixed(0)]) : []),
    p.exit === null ? '' : p.exit.reason === 'exit' ? `exit ${p.exit.code}` : p.exit.reason,
  ]);
  const right = new Set(proofs ? [0, 3, 4, 5, 6, 7, 8, 9] : [0, 3, 4, 5, 6, 7]);
  return alignColumns(head, rows, (i) => right.has(i)).join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      node: { type: 'string' },
      state: { type: 'string', default: DEFAULT_STATE_DIR },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `ps takes no arguments, not '${positionals.join(' ')}'`);
  const client = new NodeClient(resolveNode({ node: values.node, stateDir: values.state }));
  const ps = await client.list();
  if (values.json) {
    console.log(JSON.stringify({ processes: ps }));
    return 0;
  }
  if (ps.length === 0) {
    console.log(`no processes on the node at ${client.target.url}`);
    return 0;
  }
  console.log(table(ps));
  return 0;
}
