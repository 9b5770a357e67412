/**
 * `maxwell up`: a long-lived node (NodeHost: ledger, slotted worker pool, kernel loop) serving
 * the HTTP API (src/api) on 127.0.0.1, until SIGINT or SIGTERM.
 */
import { readInferModel } from '../proof/files.js';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { ErrorCode, MaxwellError } from '../errors.js';
import { NodeHost } from '../kernel/host.js';
import { DEFAULT_STATE_DIR } from '../ledger/node-files.js';
import { buildApi } from '../api/server.js';
import { apiInfoPath, apiTokenPath, loadOrCreateToken, processAlive, readApiInfo, removeApiInfo, tokenFileIsOpen, writeApiInfo } from '../api/files.js';
import { positiveInteger, positiveNumber, usage } from './args.js';
import { DEFAULT_KERNEL_CONFIG } from '../kernel/config.js';

export const summary = 'run a long-lived node with an HTTP API on 127.0.0.1 (for ps, kill, run --node)';

const DEFAULT_PORT = 7070;
const STATUS_EVERY_MS = 5_000;

const HELP = `usage: maxwell up [--port N] [--host ADDR] [--state DIR] [--workers K] [--power-cap W] [--sys-root DIR] [--token-file PATH]

Runs a node until SIGINT (Ctrl-C) or SIGTERM: the ledger (STATE/ledger.db), a worker pool, the
kernel loop (slot auctions, rent, apoptosis, the power cap), and its HTTP API (docs/api.md;
OpenAPI at /openapi.json). Requests that change state need the bearer token, made on first use
(32 random bytes, hex, mode 0600) in STATE/api-token. The URL goes to STATE/api.json, where
\`maxwell ps\`, \`kill\` and \`run --node\` find it. It checks and pays for inference claims on
the infer sample agent's model (submit a process with \`queries\`: docs/proof.md, docs/api.md).

It prints the URL, the token file and the processes lost by a previous run that did not stop
cleanly (their deaths are in the ledger as lost), then a status line every ${STATUS_EVERY_MS / 1000} s: the
reserve price, the node's power (measured where it has RAPL, else estimated by the model),
live processes.

options:
  --port N          TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDR       address to listen on (default 127.0.0.1; anything else exposes the node)
  --state DIR       the node's state directory (default ${DEFAULT_STATE_DIR})
  --workers K       worker threads (default: one per core)
  --sys-root DIR    read power meters (RAPL) from DIR/sys instead of /sys (a fixture tree)
  --power-cap W     the node's power budget (default ${DEFAULT_KERNEL_CONFIG.powerCapW} W; at most the ledger's maximum, fixed when it was created)
  --token-file PATH the bearer token's file (default STATE/api-token)
  -h, --help        this help`;

function port(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PORT;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--port must be a whole number in [0, 65535], not '${raw}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      state: { type: 'string', default: DEFAULT_STATE_DIR },
      workers: { type: 'string' },
      'sys-root': { type: 'string', default: '/' },
      'power-cap': { type: 'string' },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `up takes no arguments, not '${positionals.join(' ')}'`);
  const listenPort = port(values.port);
  const workers = positiveInteger('workers', values.workers, availableParallelism());
  const powerCapW = positiveNumber('power-cap', values['power-cap'], DEFAULT_KERNEL_CONFIG.powerCapW);
  const stateDir = values.state;
  mkdirSync(stateDir, { recursive: true });

  // Two nodes on one ledger would each sign their own history of it.
  const running = readApiInfo(stateDir);
  if (running !== undefined && running.pid !== process.pid && processAlive(running.pid)) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a node is already running on ${stateDir} (pid ${running.pid}, ${running.url}); stop it first, or use another --state`);
  }
  const tokenFile = values['token-file'] ?? apiTokenPath(stateDir);
  const { token, created } = loadOrCreateToken(tokenFile);

  // The sample infer agent's model: queries for it are checked and paid (docs/proof.md).
  const infer = await readInferModel();
  const host = await NodeHost.open({ stateDir, workers, sysRoot: values['sys-root'], models: [infer.model], config: { ...DEFAULT_KERNEL_CONFIG, powerCapW } });
  const startedMs = Date.now();
  let app;
  try {
    app = await buildApi({ host, token, workers, startedMs });
    await app.listen({ port: listenPort, host: values.host });
  } catch (err) {
    await host.close();
    await app?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `port ${listenPort} on ${values.host} is in use: pick another with --port (0 for any free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `cannot listen on ${values.host}:${listenPort} (${code})`);
    throw err;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : listenPort;
  const hostPart = values.host.includes(':') ? `[${values.host}]` : values.host;
  const url = `http://${hostPart}:${boundPort}`;
  writeApiInfo(stateDir, { url, pid: process.pid });

  console.log(`maxwell node up: ${url}  (state ${stateDir}, ${workers} worker${workers === 1 ? '' : 's'}, power cap ${host.ledger.powerCapW} W)`);
  console.log(`  power      ${host.powerSource}`);
  console.log(`  node key   ${host.ledger.nodeWallet.toString('hex')}`);
  console.log(`  token      ${tokenFile}${created ? ' (new)' : ''}: send it as Authorization: Bearer TOKEN to change anything`);
  console.log(`  api.json   ${apiInfoPath(stateDir)}; OpenAPI at ${url}/openapi.json`);
  if (values.host !== '127.0.0.1' && values.host !== '::1' && values.host !== 'localhost') {
    console.log(`  warning: listening on ${values.host}, not only this machine; anyone who can reach it can read the node, and anyone with the token can change it (plain HTTP)`);
  }
  if (tokenFileIsOpen(tokenFile)) console.log(`  warning: ${tokenFile} is readable by other users: chmod 600 it`);
  if (host.lost.length > 0) {
    console.log(`  lost: ${host.lost.length} process${host.lost.length === 1 ? ' was' : 'es were'} alive when the node last stopped without closing (their deaths are in the ledger as lost):`);
    for (const p of host.lost) console.log(`    pid ${p.pid} ${p.agent} (wallet ${p.wallet.slice(0, 16)}…, started ${new Date(p.startedMs).toISOString()})`);
  }

  const status = setInterval(() => {
    const live = host.node.list().length;
    const samples = host.priceHistory();
    const last = samples[samples.length - 1];
    const power = last === undefined ? 'n/a' : `${last.powerW.toFixed(1)} W (${last.powerSource})`;
    // A node that measures more than the cap allows with nothing running can run nothing.
    if (last?.powerSource === 'measured' && live === 0 && last.powerW >= 0.95 * host.ledger.powerCapW) {
      console.log(`maxwell up: warning: the node draws ${last.powerW.toFixed(1)} W (measured) with no process running, at or above its cap's target (95% of ${host.ledger.powerCapW} W): the price will rise until little or nothing runs; restart with a higher --power-cap`);
    }
    const avg = host.node.avgMeasuredPowerW;
    console.log(`${new Date().toISOString()}  price ${host.node.reservePrice.toPrecision(4)} tokens/J  power ${power}; avg ${(avg ?? host.node.avgPowerW).toFixed(1)} W (${avg === undefined ? 'estimated' : 'measured'}), cap ${host.ledger.powerCapW} W  ${live} live process${live === 1 ? '' : 'es'}  ledger ${host.ledger.size} entries`);
  }, STATUS_EVERY_MS);

  let rc = 0;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.log(`maxwell up: ${signal} again: already stopping (closing the ledger cleanly)`);
        return;
      }
      stopping = true;
      console.log(`maxwell up: ${signal}: stopping (live processes are killed, their deaths recorded; the ledger is sealed)`);
      clearInterval(status);
      removeApiInfo(stateDir);
      // The host first: its processes' deaths go into the ledger while the API still answers
      // (with 503 E_NODE_STOPPED for anything that would change the node); then the server.
      void (async () => {
        try {
          await host.close();
        } catch (err) {
          rc = 1;
          console.error(`maxwell up: closing the node failed: ${(err as Error).message}`);
        } finally {
          await app.close();
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        }
      })();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  console.log('maxwell up: stopped');
  return rc;
}
