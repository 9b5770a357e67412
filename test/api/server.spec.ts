// The node's HTTP API (src/api/server.ts) through fastify's inject: every kind of bad request is
// refused with its status and code, and the node serves the next good request as if nothing had
// happened; a real sample agent is submitted, listed, inspected, rebid and killed; the OpenAPI
// document lists the routes. Each test runs its own node on its own temporary state directory.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { NodeHost, MAX_MODULE_BYTES } from '../../src/kernel/host.js';
import { DEFAULT_KERNEL_CONFIG } from '../../src/kernel/config.js';
import { buildApi, httpStatusFor, SUBMIT_BODY_LIMIT, tokensEqual } from '../../src/api/server.js';
import { generateKey } from '../../src/ledger/keys.js';
import { ErrorCode } from '../../src/errors.js';
import { readInferModel, quantiseInput } from '../../src/proof/files.js';
import { modelHash } from '../../src/proof/model.js';
import { toSampleMajor } from '../../src/proof/queries.js';

const infer = await readInferModel();

const AGENTS = fileURLToPath(new URL('../../../agents/build/', import.meta.url));
const TOKEN = 'a'.repeat(64);
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Node {
  host: NodeHost;
  app: FastifyInstance;
  internal: unknown[];
}

/** A node on a fresh state directory, its power cap high enough that funding never waits. */
async function withNode(fn: (n: Node) => Promise<void>, o: { maxProcesses?: number } = {}): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'mw-api-'));
  const host = await NodeHost.open({
    // No power meter (an empty /sys): power is the model's on any machine that runs the tests.
    stateDir, workers: 1, sysRoot: fileURLToPath(new URL('../../../test/fixtures/sys-empty', import.meta.url)), config: { ...DEFAULT_KERNEL_CONFIG, powerCapW: 10_000 },
    models: [infer.model],
    ...(o.maxProcesses === undefined ? {} : { maxProcesses: o.maxProcesses }),
  });
  const internal: unknown[] = [];
  const app = await buildApi({ host, token: TOKEN, workers: 1, onInternalError: (err) => internal.push(err) });
  try {
    await fn({ host, app, internal });
  } finally {
    await host.close();
    await app.close();
  }
}

const body = (r: LightMyRequestResponse) => JSON.parse(r.body) as Record<string, any>;

/** The response is an error with this status and code, in the one error shape. */
function refused(r: LightMyRequestResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(r.statusCode, status, r.body);
  const b = body(r);
  assert.deepEqual(Object.keys(b), ['error'], r.body);
  assert.deepEqual(Object.keys(b.error).sort(), ['code', 'message']);
  assert.equal(b.error.code, code, r.body);
  assert.equal(typeof b.error.message, 'string');
  assert.doesNotMatch(b.error.message, /\n\s+at /, 'no stack trace');
  if (message) assert.match(b.error.message, message);
}

async function funded(app: FastifyInstance, amountJ = 100): Promise<string> {
  const wallet = generateKey().raw.toString('hex');
  const r = await app.inject({ method: 'POST', url: `/v1/wallets/${wallet}/fund`, headers: AUTH, payload: { amount_j: amountJ } });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(body(r).balance_j, amountJ);
  return wallet;
}

const moduleB64 = async (name: string) => (await readFile(`${AGENTS}${name}.wasm`)).toString('base64');

/** The node still answers and still changes state: GET /v1/node, and a fund that needs the token. */
async function stillServes(app: FastifyInstance): Promise<void> {
  const r = await app.inject({ url: '/v1/node' });
  assert.equal(r.statusCode, 200, r.body);
  assert.match(body(r).node_key, /^[0-9a-f]{64}$/);
  await funded(app, 1);
}

describe('node API: bad requests', () => {
  it('refuses malformed JSON, wrong types, unknown fields, missing and wrong tokens with their codes, and keeps serving', async () => {
    await withNode(async ({ app }) => {
      const wallet = await funded(app);
      const valid = { module_base64: await moduleB64('miner'), agent: 'miner', wallet };
      const post = (payload: unknown, headers: Record<string, string> = AUTH) =>
        app.inject({ method: 'POST', url: '/v1/processes', headers: { 'content-type': 'application/json', ...headers }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

      refused(await post('{"agent": "miner",'), 400, 'E_BAD_JSON');
      refused(await post(''), 400, 'E_BAD_JSON');
      refused(await app.inject({ method: 'POST', url: `/v1/wallets/${wallet}/fund`, headers: { ...AUTH, 'content-type': 'application/json' }, payload: '[1, 2' }), 400, 'E_BAD_JSON');
      // Types: no coercion, and the message names the field.
      refused(await post({ ...valid, bid: '5' }), 400, 'E_BAD_REQUEST', /body\/bid must be number/);
      refused(await post({ ...valid, memory_mib: 1.5 }), 400, 'E_BAD_REQUEST', /body\/memory_mib/);
      refused(await post({ ...valid, memory_mib: 5000 }), 400, 'E_BAD_REQUEST', /body\/memory_mib/);
      refused(await post({ ...valid, bid: 0 }), 400, 'E_BAD_REQUEST', /body\/bid/);
      refused(await post({ ...valid, agent: 7 }), 400, 'E_BAD_REQUEST', /body\/agent/);
      refused(await post({ ...valid, agent: 'no spaces' }), 400, 'E_BAD_REQUEST', /body\/agent must be an agent name/);
      refused(await post({ ...valid, agent: 'x'.repeat(65) }), 400, 'E_BAD_REQUEST', /body\/agent/);
      refused(await post({ ...valid, wallet: 'abc' }), 400, 'E_BAD_REQUEST', /body\/wallet must be a wallet/);
      refused(await post({ ...valid, module_base64: 'not base64!' }), 400, 'E_BAD_REQUEST', /body\/module_base64/);
      refused(await post({ ...valid, args: 'x' }), 400, 'E_BAD_REQUEST', /body\/args/);
      refused(await post({ ...valid, args: Array(65).fill('x') }), 400, 'E_BAD_REQUEST', /body\/args/);
      refused(await post({ ...valid, args: ['x'.repeat(4097)] }), 400, 'E_BAD_REQUEST', /body\/args\/0/);
      refused(await post({ ...valid, extra: true }), 400, 'E_BAD_REQUEST', /body\/extra is not a field/);
      refused(await post({ agent: 'miner', wallet }), 400, 'E_BAD_REQUEST', /body\/module_base64 is required/);
      refused(await post([valid]), 400, 'E_BAD_REQUEST', /body must be object/);
      refused(await app.inject({ method: 'PUT', url: '/v1/processes/1/bid', headers: AUTH, payload: { bid: -1 } }), 400, 'E_BAD_REQUEST', /body\/bid/);
      refused(await app.inject({ method: 'POST', url: `/v1/wallets/${wallet}/fund`, headers: AUTH, payload: { amount_j: 'lots' } }), 400, 'E_BAD_REQUEST', /body\/amount_j/);
      refused(await app.inject({ method: 'POST', url: '/v1/processes', headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'hello' }), 415, 'E_BAD_REQUEST');

      // The token: missing, malformed, wrong (same code), and checked before the body is parsed.
      refused(await post(valid, {}), 401, 'E_UNAUTHORIZED', /Authorization: Bearer/);
      refused(await post(valid, { authorization: TOKEN }), 401, 'E_UNAUTHORIZED');
      refused(await post(valid, { authorization: `Bearer ${'b'.repeat(64)}` }), 401, 'E_UNAUTHORIZED');
      refused(await post(valid, { authorization: `Bearer ${TOKEN}x` }), 401, 'E_UNAUTHORIZED');
      refused(await post('{not json', {}), 401, 'E_UNAUTHORIZED');
      refused(await app.inject({ method: 'POST', url: '/v1/processes/1/kill' }), 401, 'E_UNAUTHORIZED');
      refused(await app.inject({ method: 'PUT', url: '/v1/processes/1/bid', payload: { bid: 2 } }), 401, 'E_UNAUTHORIZED');
      refused(await app.inject({ method: 'POST', url: `/v1/wallets/${wallet}/fund`, payload: { amount_j: 1 } }), 401, 'E_UNAUTHORIZED');
      assert.equal((await post(valid, {})).headers['www-authenticate'], 'Bearer');

      // Unknown things.
      refused(await app.inject({ url: '/v1/processes/4242' }), 404, 'E_NO_SUCH_PROCESS');
      refused(await app.inject({ method: 'POST', url: '/v1/processes/4242/kill', headers: AUTH }), 404, 'E_NO_SUCH_PROCESS');
      refused(await app.inject({ method: 'PUT', url: '/v1/processes/4242/bid', headers: AUTH, payload: { bid: 2 } }), 404, 'E_NO_SUCH_PROCESS');
      refused(await app.inject({ url: '/v1/processes/-1' }), 400, 'E_BAD_REQUEST', /params\/pid must be a process id/);
      refused(await app.inject({ url: '/v1/processes/12abc' }), 400, 'E_BAD_REQUEST');
      refused(await app.inject({ url: `/v1/wallets/${generateKey().raw.toString('hex')}` }), 404, 'E_WALLET_UNKNOWN');
      refused(await app.inject({ url: '/v1/wallets/xyz' }), 400, 'E_BAD_REQUEST', /params\/wallet/);
      refused(await post({ ...valid, wallet: generateKey().raw.toString('hex') }), 404, 'E_WALLET_UNKNOWN');
      refused(await app.inject({ url: '/v1/ledger/tail?n=1001' }), 400, 'E_BAD_REQUEST', /querystring\/n must be a whole number from 1 to 1000/);
      refused(await app.inject({ url: '/v1/ledger/tail?n=0' }), 400, 'E_BAD_REQUEST');
      refused(await app.inject({ url: '/v1/ledger/tail?m=3' }), 400, 'E_BAD_REQUEST', /querystring\/m is not a field/);
      refused(await app.inject({ url: '/v2/node' }), 404, 'E_NOT_FOUND');
      refused(await app.inject({ method: 'DELETE', url: '/v1/node' }), 404, 'E_NOT_FOUND');
      // The treasury's own wallet cannot be granted to: a wallet the ledger refuses is 422.
      const node = body(await app.inject({ url: '/v1/node' }));
      refused(await app.inject({ method: 'POST', url: `/v1/wallets/${node.node_key}/fund`, headers: AUTH, payload: { amount_j: 1 } }), 422, 'E_WALLET_INVALID');
      // More than the treasury has accrued: a passing condition, 503 with when to try again.
      const short = await app.inject({ method: 'POST', url: `/v1/wallets/${generateKey().raw.toString('hex')}/fund`, headers: AUTH, payload: { amount_j: 1e9 } });
      refused(short, 503, 'E_TREASURY_SHORT', /try again in \d+ s/);
      assert.ok(Number(short.headers['retry-after']) > 0, `Retry-After: ${short.headers['retry-after']}`);

      await stillServes(app);
    });
  });

  it('refuses modules that are not WebAssembly (422, with the module codes) and oversized ones (413)', async () => {
    await withNode(async ({ app }) => {
      const wallet = await funded(app);
      const submit = (module_base64: string) => app.inject({ method: 'POST', url: '/v1/processes', headers: AUTH, payload: { module_base64, agent: 'bad', wallet } });
      refused(await submit(Buffer.from('this is not wasm').toString('base64')), 422, 'E_WASM_INVALID');
      // A valid module that lacks _start, and one that imports what the node does not provide.
      const noStart = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
      const r = await submit(noStart.toString('base64'));
      assert.equal(r.statusCode, 422, r.body);
      assert.match(body(r).error.code, /^E_(EXPORT_MISSING|WASM_INVALID)$/);
      // One byte over the limit: refused by its decoded size, before the node compiles anything.
      refused(await submit(Buffer.alloc(MAX_MODULE_BYTES + 1).toString('base64')), 413, 'E_TOO_LARGE', /16777216/);
      // A body over the route's limit is refused while it is read.
      const huge = `{"agent":"x","wallet":"${wallet}","module_base64":"${'A'.repeat(SUBMIT_BODY_LIMIT)}"}`;
      refused(await app.inject({ method: 'POST', url: '/v1/processes', headers: { ...AUTH, 'content-type': 'application/json' }, payload: huge }), 413, 'E_TOO_LARGE');
      // Other routes take small bodies only.
      refused(await app.inject({ method: 'POST', url: `/v1/wallets/${wallet}/fund`, headers: { ...AUTH, 'content-type': 'application/json' }, payload: `{"amount_j": 1, "pad": "${'x'.repeat(100_000)}"}` }), 413, 'E_TOO_LARGE');
      await stillServes(app);
    });
  });

  it('answers 503 when the node is at its process limit or stopped, and 500 E_INTERNAL without detail for the unexpected', async () => {
    await withNode(async ({ app, host, internal }) => {
      const wallet = await funded(app);
      const looper = await moduleB64('looper');
      const first = await app.inject({ method: 'POST', url: '/v1/processes', headers: AUTH, payload: { module_base64: looper, agent: 'looper', wallet } });
      assert.equal(first.statusCode, 201, first.body);
      refused(await app.inject({ method: 'POST', url: '/v1/processes', headers: AUTH, payload: { module_base64: looper, agent: 'looper', wallet } }), 503, 'E_PROCESS_LIMIT');

      const original = host.priceHistory.bind(host);
      host.priceHistory = () => { throw new TypeError('secret internal detail'); };
      const r = await app.inject({ url: '/v1/price-history' });
      refused(r, 500, 'E_INTERNAL');
      assert.doesNotMatch(r.body, /secret internal detail/);
      assert.equal(internal.length, 1, 'the detail went to the node log');
      host.priceHistory = original;
      assert.equal((await app.inject({ url: '/v1/price-history' })).statusCode, 200);

      await host.close();
      refused(await app.inject({ method: 'POST', url: `/v1/wallets/${wallet}/fund`, headers: AUTH, payload: { amount_j: 1 } }), 503, 'E_NODE_STOPPED');
      refused(await app.inject({ method: 'POST', url: '/v1/processes', headers: AUTH, payload: { module_base64: looper, agent: 'looper', wallet } }), 503, 'E_NODE_STOPPED');
    }, { maxProcesses: 1 });
  });
});

describe('node API: processes', () => {
  it('runs a real agent from a funded wallet: submitted, listed, inspected, rebid, killed; its death is in the ledger', async () => {
    await withNode(async ({ app }) => {
      const wallet = await funded(app, 50);
      const r = await app.inject({ method: 'POST', url: '/v1/processes', headers: AUTH, payload: { module_base64: await moduleB64('looper'), agent: 'looper', wallet, bid: 2, memory_mib: 16 } });
      assert.equal(r.statusCode, 201, r.body);
      const p = body(r);
      assert.equal(r.headers.location, `/v1/processes/${p.pid}`);
      assert.equal(p.agent, 'looper');
      assert.equal(p.wallet, wallet);
      assert.equal(p.bid, 2);
      assert.equal(p.energy_source, 'estimated');
      assert.equal(p.exit, null);
      assert.ok(['waiting', 'running'].includes(p.state));

      // It runs: its fuel grows and it pays for it.
      let v: Record<string, any> = p;
      for (let i = 0; i < 100 && !(v.fuel > 0 && v.charged_j > 0); i++) {
        await new Promise((res) => setTimeout(res, 20));
        v = body(await app.inject({ url: `/v1/processes/${p.pid}` }));
      }
      assert.ok(v.fuel > 0 && v.charged_j > 0 && v.energy_j > 0, JSON.stringify(v));
      assert.notEqual(v.state, 'dead');

      const list = body(await app.inject({ url: '/v1/processes' }));
      assert.deepEqual(list.processes.map((x: { pid: number }) => x.pid), [p.pid]);
      assert.equal(list.processes[0].stdout, undefined, 'the list carries no output');

      const rebid = await app.inject({ method: 'PUT', url: `/v1/processes/${p.pid}/bid`, headers: AUTH, payload: { bid: 3.5 } });
      assert.equal(rebid.statusCode, 200, rebid.body);
      assert.equal(body(rebid).bid, 3.5);

      const wb = body(await app.inject({ url: `/v1/wallets/${wallet}` }));
      assert.ok(wb.balance_j < 50 && wb.balance_j > 0, JSON.stringify(wb));
      assert.equal(wb.balance_uj, Math.round(wb.balance_j * 1e6));

      const k = await app.inject({ method: 'POST', url: `/v1/processes/${p.pid}/kill`, headers: AUTH });
      assert.equal(k.statusCode, 200, k.body);
      for (let i = 0; i < 200 && v.state !== 'dead'; i++) {
        await new Promise((res) => setTimeout(res, 10));
        v = body(await app.inject({ url: `/v1/processes/${p.pid}` }));
      }
      assert.equal(v.state, 'dead');
      assert.equal(v.exit.reason, 'killed');
      assert.equal(typeof v.stdout, 'string');
      refused(await app.inject({ method: 'POST', url: `/v1/processes/${p.pid}/kill`, headers: AUTH }), 409, 'E_PROCESS_DEAD');
      refused(await app.inject({ method: 'PUT', url: `/v1/processes/${p.pid}/bid`, headers: AUTH, payload: { bid: 2 } }), 409, 'E_PROCESS_DEAD');

      // The death is in the ledger once its epoch is sealed (every 100 ms).
      let death: Record<string, any> | undefined;
      for (let i = 0; i < 50 && death === undefined; i++) {
        await new Promise((res) => setTimeout(res, 50));
        const t = body(await app.inject({ url: '/v1/ledger/tail?n=50' }));
        death = t.entries.find((e: Record<string, any>) => e.kind === 'death' && e.pid === p.pid);
      }
      assert.ok(death, 'a death entry for the pid');
      assert.equal(death.reason, 'killed');
      assert.equal(death.from, wallet);
    });
  });

  it("runs an agent to its end and keeps its output; the node's own view and the price history answer", async () => {
    await withNode(async ({ app }) => {
      const wallet = await funded(app, 20);
      const r = await app.inject({ method: 'POST', url: '/v1/processes', headers: AUTH, payload: { module_base64: await moduleB64('miner'), agent: 'miner', wallet, args: ['8'] } });
      assert.equal(r.statusCode, 201, r.body);
      const pid = body(r).pid;
      let v: Record<string, any> = body(r);
      for (let i = 0; i < 500 && v.state !== 'dead'; i++) {
        await new Promise((res) => setTimeout(res, 10));
        v = body(await app.inject({ url: `/v1/processes/${pid}` }));
      }
      assert.equal(v.exit?.reason, 'exit', JSON.stringify(v));
      assert.equal(v.exit.code, 0);
      assert.match(v.stdout, /^miner: nonce=\d+ hash=[0-9a-f]{64} bits=8/);

      const n = body(await app.inject({ url: '/v1/node' }));
      assert.equal(n.power_cap_w, 10_000);
      assert.equal(n.power_source, 'estimated');
      assert.equal(n.workers, 1);
      assert.ok(n.reserve_price_tokens_per_j > 0 && n.uptime_s >= 0 && n.avg_power_w >= 0);
      assert.deepEqual(n.lost, []);
      const h = body(await app.inject({ url: '/v1/price-history' }));
      assert.equal(h.power_source, 'estimated');
      assert.ok(Array.isArray(h.samples));
      const t = body(await app.inject({ url: '/v1/ledger/tail?n=3' }));
      assert.ok(t.entries.length <= 3);
      assert.equal(t.node_key, n.node_key);
    });
  });
});

describe('node API: documents and edges', () => {
  it('serves an OpenAPI 3 document with every route, the shared schemas and the bearer scheme', async () => {
    await withNode(async ({ app }) => {
      const r = await app.inject({ url: '/openapi.json' });
      assert.equal(r.statusCode, 200);
      const doc = body(r);
      assert.match(doc.openapi, /^3\./);
      for (const path of ['/v1/node', '/v1/processes', '/v1/processes/{pid}', '/v1/processes/{pid}/kill', '/v1/processes/{pid}/bid', '/v1/wallets/{wallet}', '/v1/wallets/{wallet}/fund', '/v1/ledger/tail', '/v1/price-history']) {
        assert.ok(doc.paths[path], `${path} is documented`);
      }
      assert.deepEqual(Object.keys(doc.paths['/v1/processes']).sort(), ['get', 'post']);
      assert.deepEqual(doc.paths['/v1/processes'].post.security, [{ bearer: [] }]);
      assert.equal(doc.paths['/v1/processes'].get.security, undefined);
      assert.ok(doc.components.schemas.Process && doc.components.schemas.Error);
      assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
      assert.equal(doc.paths['/openapi.json'], undefined);
    });
  });

  it('maps every code to a status and compares tokens in constant time', () => {
    assert.equal(httpStatusFor(ErrorCode.UNAUTHORIZED), 401);
    assert.equal(httpStatusFor(ErrorCode.NO_SUCH_PROCESS), 404);
    assert.equal(httpStatusFor(ErrorCode.WALLET_UNKNOWN), 404);
    assert.equal(httpStatusFor(ErrorCode.TOO_LARGE), 413);
    assert.equal(httpStatusFor(ErrorCode.IMPORT_FORBIDDEN), 422);
    assert.equal(httpStatusFor(ErrorCode.NODE_STOPPED), 503);
    assert.equal(httpStatusFor(ErrorCode.LEDGER_CORRUPT), 500);
    assert.ok(tokensEqual('abc', 'abc'));
    assert.ok(!tokensEqual('abc', 'abd'));
    assert.ok(!tokensEqual('abc', 'abcd'));
  });
});

describe('node API: queries (proof of useful work)', () => {
  it('lists its models; an agent given a requester\'s queries answers them and shows what its verified answers earned; bad queries are refused', async () => {
    await withNode(async ({ app }) => {
      const node = body(await app.inject({ url: '/v1/node' }));
      const hash = modelHash(infer.model).toString('hex');
      assert.deepEqual(node.models, [{ hash, name: infer.model.name, inputs: 4, classes: 3 }]);
      assert.ok(node.reward_uj_per_bit > 0);
      const requester = await funded(app, 1);
      const wallet = await funded(app, 1);
      // Two queries of 9 held-out samples each, one after the other.
      const x = Buffer.concat([0, 1].map((q) => Buffer.from(toSampleMajor(quantiseInput(infer.testX.slice(q * 9, q * 9 + 9), infer.inputZero), 4, 9).buffer)));
      const submit = (queries: Record<string, unknown>) => app.inject({
        method: 'POST', url: '/v1/processes', headers: AUTH,
        payload: { module_base64: infer_b64, agent: 'infer', wallet, args: ['0'], queries },
      });
      const infer_b64 = await moduleB64('infer');
      const ok = { requester, model_hash: hash, batch: 9, inputs_base64: x.toString('base64') };
      refused(await submit({ ...ok, inputs_base64: x.subarray(1).toString('base64') }), 400, 'E_BAD_REQUEST', /whole number of queries/);
      refused(await submit({ ...ok, model_hash: 'ab'.repeat(32) }), 404, 'E_MODEL_UNKNOWN');
      refused(await submit({ ...ok, requester: generateKey().raw.toString('hex') }), 404, 'E_WALLET_UNKNOWN');
      refused(await submit({ ...ok, requester: await funded(app, 0.000_01) }), 422, 'E_AMOUNT_INVALID', /fee/);
      refused(await submit({ ...ok, extra: 1 }), 400, 'E_BAD_REQUEST');
      const r = await submit(ok);
      assert.equal(r.statusCode, 201, r.body);
      const pid = body(r).pid;
      let v: Record<string, any> = {};
      for (let i = 0; i < 500; i++) {
        v = body(await app.inject({ url: `/v1/processes/${pid}` }));
        if (v.state === 'dead') break;
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(v.exit?.reason, 'exit', JSON.stringify(v.exit));
      assert.deepEqual([v.proof.claims, v.proof.accepted, v.proof.rejected, v.proof.samples], [2, 2, 0, 18]);
      assert.ok(v.proof.bits > 0 && v.proof.reward_j > 0 && v.proof.bits_per_j > 0, JSON.stringify(v.proof));
      assert.equal(v.proof.last_rejection, null);
      assert.ok(v.proof.soundness_bits >= 40, 'every accepted claim was checked to 2^-40');
    });
  });
});
