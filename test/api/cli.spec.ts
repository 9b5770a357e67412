// The API's clients end to end over real HTTP: a node listening on a real port (0: any free one),
// driven by the compiled `maxwell` command in child processes (`ps`, `kill`, `run --node`), and
// `maxwell up` itself started, found through STATE/api.json, used and stopped with SIGTERM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { NodeHost } from '../../src/kernel/host.js';
import { DEFAULT_KERNEL_CONFIG } from '../../src/kernel/config.js';
import { buildApi } from '../../src/api/server.js';
import { apiInfoPath, apiTokenPath, loadOrCreateToken } from '../../src/api/files.js';
import { NodeClient, resolveNode } from '../../src/api/client.js';
import { generateKey } from '../../src/ledger/keys.js';
import { agentName } from '../../src/cli/run.js';
import { BIN, maxwell as runMaxwell, ROOT } from '../cli-helper.js';

const AGENTS = join(ROOT, 'agents/build');

/** The CLI with no token in the environment unless a test gives one. */
const maxwell = (args: string[], env: Record<string, string> = {}) => runMaxwell(args, { env: { MAXWELL_TOKEN: '', ...env } });

describe('API clients over HTTP', () => {
  it('ps, kill and run --node drive a listening node; errors come back with their codes and exit statuses', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-cli-'));
    const host = await NodeHost.open({ stateDir: state, workers: 1, sysRoot: join(ROOT, 'test/fixtures/sys-empty'), config: { ...DEFAULT_KERNEL_CONFIG, powerCapW: 10_000 } });
    const { token } = loadOrCreateToken(apiTokenPath(state));
    const app = await buildApi({ host, token, workers: 1 });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

      // run --node: a one-off wallet, funded from the treasury; the output and exit as embedded.
      const miner = await maxwell(['run', '--node', url, '--state', state, '--json', join(AGENTS, 'miner.wasm'), '--', '8']);
      assert.equal(miner.code, 0, miner.stderr);
      const m = JSON.parse(miner.stdout);
      assert.equal(m.exit.reason, 'exit');
      assert.equal(m.exit.code, 0);
      assert.match(m.stdout, /^miner: nonce=\d+ hash=[0-9a-f]{64} bits=8/);
      assert.ok(m.fuel > 0 && m.energy_j > 0 && m.charged_j > 0);
      assert.equal(m.energy_source, 'estimated');
      assert.equal(m.node, url);

      // A looper with a named wallet and little money dies of apoptosis: exit status 3.
      const wallet = generateKey().raw.toString('hex');
      const looper = await maxwell(['run', '--node', url, '--state', state, '--wallet', wallet, '--fund', '0.005', '--bid', '2', agentPath('looper')]);
      assert.equal(looper.code, 3, looper.stderr);
      assert.match(looper.stderr, /apoptosis/);

      // An invalid module: reason invalid, exit 65, as the embedded mode reports it.
      const bad = join(state, 'bad.wasm');
      await writeFile(bad, 'this is not wasm');
      const invalid = await maxwell(['run', '--node', url, '--state', state, '--json', bad]);
      assert.equal(invalid.code, 65, invalid.stderr);
      assert.equal(JSON.parse(invalid.stdout).exit.code, 'E_WASM_INVALID');
      // Options that belong to one mode only.
      assert.equal((await maxwell(['run', '--node', url, '--budget', '1', bad])).code, 64);
      assert.equal((await maxwell(['run', '--wallet', wallet, bad])).code, 64);

      // ps: the table and the JSON.
      const ps = await maxwell(['ps', '--node', url]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, /PID\s+AGENT\s+STATE\s+BID\s+BALANCE J\s+ENERGY J \(est\.\)\s+RENT J\s+TAX J/);
      assert.match(ps.stdout, /\bminer\s+dead\b/);
      assert.match(ps.stdout, /\blooper\s+dead\b.*apoptosis/);
      const psJson = JSON.parse((await maxwell(['ps', '--node', url, '--json'])).stdout);
      assert.deepEqual(psJson.processes.map((p: { agent: string }) => p.agent), ['looper', 'miner']);

      // kill: a live looper, through the client library and then the command.
      const client = new NodeClient(resolveNode({ node: url, stateDir: state }));
      const rich = generateKey().raw.toString('hex');
      await client.fund(rich, 100);
      const live = await client.submit({ module: new Uint8Array(await readFile(agentPath('looper'))), agent: 'looper', wallet: rich });
      const killed = await maxwell(['kill', String(live.pid), '--node', url, '--state', state]);
      assert.equal(killed.code, 0, killed.stderr);
      assert.match(killed.stdout, new RegExp(`process ${live.pid} \\(looper\\) killed`));
      assert.equal((await client.inspect(live.pid)).exit?.reason, 'killed');
      const again = await maxwell(['kill', String(live.pid), '--node', url, '--state', state]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /E_PROCESS_DEAD/);
      const unknown = await maxwell(['kill', '999', '--node', url, '--state', state]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /E_NO_SUCH_PROCESS/);

      // Tokens: a wrong one (flag or environment) is refused with 77; none at all names the fixes.
      const other = await mkdtemp(join(tmpdir(), 'mw-cli-'));
      const wrong = await maxwell(['kill', '1', '--node', url, '--state', state, '--token', 'x'.repeat(64)]);
      assert.equal(wrong.code, 77, wrong.stderr);
      assert.match(wrong.stderr, /E_UNAUTHORIZED.*--token was refused/);
      assert.equal((await maxwell(['kill', '1', '--node', url, '--state', state], { MAXWELL_TOKEN: 'y'.repeat(64) })).code, 77);
      const none = await maxwell(['kill', '1', '--node', url, '--state', other]);
      assert.equal(none.code, 77);
      assert.match(none.stderr, /no token: pass --token, set MAXWELL_TOKEN/);
      // ...and the right one from the environment works from anywhere.
      assert.equal((await maxwell(['run', '--node', url, '--state', other, agentPath('miner'), '--', '4'], { MAXWELL_TOKEN: token })).code, 0);
    } finally {
      await host.close();
      await app.close();
    }
  });

  it('says plainly when no node is there', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-cli-'));
    // A port that was free a moment ago (fetch refuses well-known ports such as 9 outright).
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const free = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
    const none = await maxwell(['ps', '--state', state]);
    assert.equal(none.code, 69);
    assert.match(none.stderr, /E_NODE_UNREACHABLE: no node is running .*maxwell up/);
    // A stale api.json (its node gone) and a port nobody listens on.
    await writeFile(apiInfoPath(state), JSON.stringify({ url: free, pid: 2 ** 22 + 12345 }));
    const stale = await maxwell(['ps', '--state', state]);
    assert.equal(stale.code, 69);
    assert.match(stale.stderr, /is not running: start one with `maxwell up`/);
    const refused = await maxwell(['run', '--node', free, '--state', state, agentPath('miner')]);
    assert.equal(refused.code, 69);
    assert.match(refused.stderr, /connection refused.*maxwell up/);
    assert.equal((await maxwell(['ps', '--node', 'not a url'])).code, 64);
  });

  it('maxwell up serves until SIGTERM, writes api.json and a 0600 token, and closes the ledger soundly', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-up-'));
    const child = spawn(process.execPath, [BIN, 'up', '--port', '0', '--state', state, '--workers', '1', '--sys-root', join(ROOT, 'test/fixtures/sys-empty')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && !existsSync(apiInfoPath(state)); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(apiInfoPath(state)), `api.json written; output:\n${out}`);
      const info = JSON.parse(await readFile(apiInfoPath(state), 'utf8'));
      assert.equal(info.pid, child.pid);
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(out, /maxwell node up: http:\/\/127\.0\.0\.1:\d+/);
      assert.equal((await stat(apiTokenPath(state))).mode & 0o777, 0o600);
      assert.match((await readFile(apiTokenPath(state), 'utf8')).trim(), /^[0-9a-f]{64}$/);

      // Found through api.json, with the token from the state directory. The treasury accrues
      // 100 W from the node's start: a 1 J grant needs 10 ms of it.
      await new Promise((r) => setTimeout(r, 100));
      const run = await maxwell(['run', '--node', info.url, '--state', state, '--fund', '1', agentPath('miner'), '--', '6']);
      assert.equal(run.code, 0, run.stderr);
      const ps = await maxwell(['ps', '--state', state, '--json']);
      assert.equal(ps.code, 0, ps.stderr);
      assert.equal(JSON.parse(ps.stdout).processes[0].agent, 'miner');
      // A second node on the same state directory is refused.
      const second = await maxwell(['up', '--port', '0', '--state', state]);
      assert.equal(second.code, 64);
      assert.match(second.stderr, /already running/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    assert.match(out, /stopped/);
    assert.ok(!existsSync(apiInfoPath(state)), 'api.json removed');
    const verify = await maxwell(['ledger', 'verify', '--state', state]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});

function agentPath(name: string): string {
  return join(AGENTS, `${name}.wasm`);
}

describe('run --node: agent names', () => {
  it('names a process after its file, in the API alphabet', () => {
    assert.equal(agentName('/x/agents/build/miner.wasm'), 'miner');
    assert.equal(agentName('my prog!.WASM'), 'my_prog_');
    assert.equal(agentName('.wasm'), 'program');
    assert.equal(agentName(`${'a'.repeat(100)}.wasm`).length, 64);
  });
});
