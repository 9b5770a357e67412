/**
 * `maxwell kill PID`: kill a live process on a running node (`maxwell up`), through its API.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { DEFAULT_STATE_DIR } from '../ledger/node-files.js';
import { NodeClient, resolveNode, waitDead } from '../api/client.js';
import { usage } from './args.js';

export const summary = 'kill a live process on a running node (its death is recorded as killed)';

const HELP = `usage: maxwell kill PID [--node URL] [--state DIR] [--token TOKEN] [--json]

Kills a live process on a running node (\`maxwell up\`) and waits (up to 5 s) to see it dead.
Its death is in the ledger with the reason killed; its memory's erasure tax is paid from its bond.

options:
  --node URL     the node's API (default: the url in STATE/api.json)
  --state DIR    the node's state directory (default ${DEFAULT_STATE_DIR})
  --token TOKEN  the node's API token (default: $MAXWELL_TOKEN, else STATE/api-token)
  --json         print the process as the API shows it
  -h, --help     this help

exit status: 0 killed; 1 no such process (E_NO_SUCH_PROCESS) or already dead (E_PROCESS_DEAD);
69 the node cannot be reached; 77 the token was refused.`;

const WAIT_MS = 5_000;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      node: { type: 'string' },
      state: { type: 'string', default: DEFAULT_STATE_DIR },
      token: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `usage: maxwell kill PID (got ${positionals.length} arguments)`);
  const raw = positionals[0]!;
  if (!/^\d{1,15}$/.test(raw)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a PID is a whole number, not '${raw}'`);
  const pid = Number(raw);
  const client = new NodeClient(resolveNode({ node: values.node, token: values.token, stateDir: values.state }));
  const sent = await client.kill(pid);
  const dead = await waitDead(client, pid, { timeoutMs: WAIT_MS });
  const p = dead ?? sent;
  if (values.json) {
    console.log(JSON.stringify(p));
  } else if (dead === undefined) {
    console.log(`process ${pid} (${p.agent}): kill sent; not dead after ${WAIT_MS / 1000} s (state ${p.state})`);
  } else {
    console.log(`process ${pid} (${p.agent}) killed: ${p.exit?.message ?? ''}; energy ${p.energy_j.toFixed(6)} J (estimated), charged ${p.charged_j.toFixed(6)} J, rent ${p.rent_j.toFixed(6)} J, tax ${p.tax_j.toFixed(6)} J`);
  }
  return 0;
}
