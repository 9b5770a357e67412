/**
 * The node's HTTP API (v1), on fastify: a thin edge over a NodeHost. It owns no state of its own;
 * every handler is one NodeHost call (or a read-only look at the ledger file), so a request can
 * never leave the node half-changed.
 *
 * The edge's three jobs:
 *  - validate: every request against its JSON schema (schemas.ts), strictly (no coercion, no
 *    unknown fields), and module sizes against the node's limit before decoding;
 *  - authenticate: anything that changes state needs `Authorization: Bearer TOKEN`, checked in
 *    onRequest (before a body is read, so an unauthenticated 16 MiB upload costs nothing) and
 *    compared in constant time;
 *  - map errors: every failure is `{"error": {"code", "message"}}` with a status from the code
 *    (httpStatusFor), and anything unexpected is a 500 E_INTERNAL whose detail goes to the node's
 *    log, never to the client.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { ErrorCode, MaxwellError } from '../errors.js';
import { MAX_MODULE_BYTES, type NodeHost, type ProcessView } from '../kernel/host.js';
import type { QueriesInput } from '../kernel/node.js';
import { UJ_PER_J } from '../ledger/format.js';
import { ledgerPath, openLedgerReadonly } from '../ledger/node-files.js';
import { readTail, tailJson } from '../cli/ledger.js';
import { MAX_MODULE_BASE64_CHARS, PATTERN_HINTS, SHARED_SCHEMAS, routes } from './schemas.js';

export const API_VERSION = 1;
/** The submit route's body limit: the base64 of the largest module, plus room for the other fields (escaped args). */
export const SUBMIT_BODY_LIMIT = MAX_MODULE_BASE64_CHARS + 2 * 2 ** 20;
/** Every other route's body limit. */
export const BODY_LIMIT = 64 * 1024;

export interface ApiOptions {
  host: NodeHost;
  /** The bearer token for requests that change state. */
  token: string;
  /** The worker count the host was opened with (shown by GET /v1/node). */
  workers: number;
  /** When the node started (ms), for its uptime. Default: now. */
  startedMs?: number;
  /** Where unexpected errors are reported (default: stderr with the stack). */
  onInternalError?: (err: unknown, req: FastifyRequest) => void;
}

/** The HTTP status of an operating error's code. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.BAD_JSON:
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.BAD_ARGUMENT: return 400;
    case ErrorCode.UNAUTHORIZED: return 401;
    case ErrorCode.NOT_FOUND:
    case ErrorCode.NO_SUCH_PROCESS:
    case ErrorCode.WALLET_UNKNOWN:
    case ErrorCode.MODEL_UNKNOWN: return 404;
    case ErrorCode.PROCESS_DEAD: return 409;
    case ErrorCode.TOO_LARGE: return 413;
    // Well-formed requests whose content the node refuses: the module, a bid, an amount, a wallet.
    case ErrorCode.WASM_INVALID:
    case ErrorCode.IMPORT_MISSING:
    case ErrorCode.IMPORT_FORBIDDEN:
    case ErrorCode.FEATURE_UNSUPPORTED:
    case ErrorCode.EXPORT_MISSING:
    case ErrorCode.BID_INVALID:
    case ErrorCode.AMOUNT_INVALID:
    case ErrorCode.WALLET_INVALID: return 422;
    // The node cannot take more now, or is stopping: try later (or another node).
    case ErrorCode.PROCESS_LIMIT:
    case ErrorCode.MARKET_FULL:
    case ErrorCode.TREASURY_SHORT:
    case ErrorCode.NODE_STOPPED: return 503;
    default: return 500;
  }
}

interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
const errorBody = (code: ErrorCode, message: string): ErrorBody => ({ error: { code, message } });

/** A process as the API shows it (snake_case); its output only where asked. */
export function processJson(v: ProcessView, withOutput: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {
    pid: v.pid,
    agent: v.agent,
    wallet: v.wallet,
    state: v.state,
    bid: v.bid,
    balance_j: v.balanceJ,
    energy_j: v.energyJ,
    energy_source: v.energySource,
    charged_j: v.chargedJ,
    rent_j: v.rentJ,
    tax_j: v.taxJ,
    memory_bytes: v.memoryBytes,
    fuel: v.fuel,
    started_ms: v.startedMs,
    exit: v.exit === null ? null : { reason: v.exit.reason, code: v.exit.code, error_code: v.exit.errorCode, message: v.exit.message },
  };
  if (v.proof !== undefined) {
    const p = v.proof;
    o.proof = { claims: p.claims, accepted: p.accepted, rejected: p.rejected, samples: p.samples, bits: p.bits, bits_per_j: p.bitsPerJ, reward_j: p.rewardJ, last_rejection: p.lastRejection, soundness_bits: p.soundnessBits };
  }
  if (withOutput && v.stdout !== undefined) o.stdout = v.stdout;
  if (withOutput && v.stderr !== undefined) o.stderr = v.stderr;
  return o;
}

/**
 * A submission's queries: the inputs cut into batches of `batch` samples of the model's inputs
 * (the node checks the model and the shapes; a length that does not divide is refused here).
 */
function queriesOf(host: NodeHost, q: { requester: string; model_hash: string; batch: number; inputs_base64: string }): QueriesInput {
  const bytes = Buffer.from(q.inputs_base64, 'base64');
  const all = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hash = q.model_hash.toLowerCase();
  const model = host.node.proofs?.models().find((m) => m.hash === hash)?.inputs;
  if (model === undefined) throw new MaxwellError(ErrorCode.MODEL_UNKNOWN, `no model ${hash} is registered on this node`);
  const per = q.batch * model;
  if (all.length === 0 || all.length % per !== 0) {
    throw new MaxwellError(ErrorCode.BAD_REQUEST, `body/queries/inputs_base64 holds ${all.length} bytes, not a whole number of queries of ${q.batch} × ${model} int8 inputs`);
  }
  const batches: Int8Array[] = [];
  for (let at = 0; at < all.length; at += per) batches.push(all.slice(at, at + per));
  return { requester: Buffer.from(q.requester, 'hex'), modelHash: hash, batches, batch: q.batch };
}

/** Ajv's first error as one sentence that names the field (and, for a pattern, what it must be). */
function schemaError(errors: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[], dataVar: string): Error {
  const e = errors[0]!;
  const where = `${dataVar}${e.instancePath}`;
  const field = e.instancePath.split('/').pop() ?? '';
  let message: string;
  if (e.keyword === 'additionalProperties') message = `${where}/${String(e.params.additionalProperty)} is not a field of this request`;
  else if (e.keyword === 'required') message = `${where}/${String(e.params.missingProperty)} is required`;
  else if (e.keyword === 'pattern' && PATTERN_HINTS[field] !== undefined) message = `${where} must be ${PATTERN_HINTS[field]}`;
  else message = `${where} ${e.message ?? 'is invalid'}`;
  return new Error(message);
}

/** Compares two tokens in constant time (their SHA-256 digests, so unequal lengths leak nothing either). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Builds the API over a host (not listening: call listen, or inject in tests). */
export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const { host } = o;
  const startedMs = o.startedMs ?? Date.now();
  const onInternalError = o.onInternalError ?? ((err: unknown, req: FastifyRequest) => {
    console.error(`maxwell api: ${req.method} ${req.url}: unexpected error:`, err);
  });
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    schemaErrorFormatter: schemaError,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Maxwell node API',
        version: String(API_VERSION),
        description: 'A Maxwell node: submit metered WebAssembly processes paid in energy tokens, watch them, kill them; wallets; the ledger. docs/api.md has the details and the error codes.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: "the node's token: STATE/api-token" } } },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  for (const s of SHARED_SCHEMAS) app.addSchema(s);
  // Bodies are JSON only (fastify would also take text/plain and hand the schema a string).
  app.removeContentTypeParser('text/plain');

  const requireToken = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(h) : null;
    if (m === null) {
      reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(ErrorCode.UNAUTHORIZED, 'this request changes the node: send Authorization: Bearer TOKEN (the token is in the node\'s STATE/api-token)'));
      return reply;
    }
    if (!tokensEqual(m[1]!, o.token)) {
      reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send(errorBody(ErrorCode.UNAUTHORIZED, 'the bearer token is not this node\'s (see its STATE/api-token)'));
      return reply;
    }
  };

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof MaxwellError) {
      const status = httpStatusFor(err.code);
      if (status === 500) onInternalError(err, req);
      // A condition that passes by itself says when to try again.
      const retry = err.detail['retryAfterS'];
      if (typeof retry === 'number') reply.header('retry-after', String(retry));
      return reply.code(status).send(errorBody(err.code, err.message));
    }
    if (err.validation !== undefined) return reply.code(400).send(errorBody(ErrorCode.BAD_REQUEST, err.message));
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.code(400).send(errorBody(ErrorCode.BAD_JSON, `the body is not JSON: ${err.message}`));
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send(errorBody(ErrorCode.TOO_LARGE, `the body is larger than this route accepts (${req.routeOptions.bodyLimit ?? BODY_LIMIT} bytes)`));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send(errorBody(ErrorCode.BAD_REQUEST, `the body must be JSON (Content-Type: application/json), not ${req.headers['content-type'] ?? 'none'}`));
    }
    // Other client errors fastify finds itself (a bad Content-Length, a prototype-poisoning body, ...).
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = /json/i.test(err.message) || err instanceof SyntaxError ? ErrorCode.BAD_JSON : ErrorCode.BAD_REQUEST;
      return reply.code(status).send(errorBody(code, err.message));
    }
    onInternalError(err, req);
    return reply.code(500).send(errorBody(ErrorCode.INTERNAL, 'the node failed unexpectedly; its log has the detail'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]} (GET /openapi.json lists them)`));
  });

  const pidOf = (req: FastifyRequest): number => Number((req.params as { pid: string }).pid);
  const walletOf = (req: FastifyRequest): Buffer => Buffer.from((req.params as { wallet: string }).wallet, 'hex');
  const walletJson = (wallet: Buffer) => {
    const uj = host.ledger.balanceOf(wallet);
    if (uj === undefined) throw new MaxwellError(ErrorCode.WALLET_UNKNOWN, `the wallet ${wallet.toString('hex')} has never been paid on this node`, { wallet: wallet.toString('hex') });
    return { wallet: wallet.toString('hex'), balance_j: uj / UJ_PER_J, balance_uj: uj, available_j: host.node.accounts.availableUj(wallet) / UJ_PER_J };
  };
  /** A process that must be alive for this request (kill, bid): 404 if unknown, 409 if dead. */
  const alive = (pid: number): ProcessView => {
    const v = host.inspect(pid);
    if (v.state === 'dead') throw new MaxwellError(ErrorCode.PROCESS_DEAD, `process ${pid} is dead (${v.exit?.reason ?? 'ended'}: ${v.exit?.message ?? ''})`, { pid });
    return v;
  };

  app.get('/v1/node', { schema: routes.node }, async () => ({
    node_key: host.ledger.nodeWallet.toString('hex'),
    power_cap_w: host.ledger.powerCapW,
    reserve_price_tokens_per_j: host.node.reservePrice,
    avg_power_w: host.node.avgMeasuredPowerW ?? host.node.avgPowerW,
    power_source: host.node.avgMeasuredPowerW === undefined ? 'estimated' : 'measured',
    workers: o.workers,
    uptime_s: (Date.now() - startedMs) / 1000,
    live_processes: host.node.list().length,
    ledger_entries: host.ledger.size,
    models: host.node.proofs?.models() ?? [],
    reward_uj_per_bit: host.node.proofs?.rewardConfig.rewardUjPerBit ?? 0,
    lost: host.lost.map((p) => ({ pid: p.pid, agent: p.agent, wallet: p.wallet, started_ms: p.startedMs })),
  }));

  app.post('/v1/processes', { schema: routes.submit, bodyLimit: SUBMIT_BODY_LIMIT, onRequest: requireToken }, async (req, reply) => {
    const b = req.body as { module_base64: string; agent: string; wallet: string; bid?: number; memory_mib?: number; args?: string[]; queries?: { requester: string; model_hash: string; batch: number; inputs_base64: string } };
    if (b.module_base64.length > MAX_MODULE_BASE64_CHARS) {
      throw new MaxwellError(ErrorCode.TOO_LARGE, `the module is over ${MAX_MODULE_BYTES} bytes (its base64 is ${b.module_base64.length} characters, at most ${MAX_MODULE_BASE64_CHARS})`);
    }
    const bytes = Buffer.from(b.module_base64, 'base64');
    if (bytes.byteLength > MAX_MODULE_BYTES) throw new MaxwellError(ErrorCode.TOO_LARGE, `the module is ${bytes.byteLength} bytes; the node accepts at most ${MAX_MODULE_BYTES}`);
    const view = await host.submit({
      module: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      agent: b.agent,
      wallet: Buffer.from(b.wallet, 'hex'),
      ...(b.bid === undefined ? {} : { bid: b.bid }),
      ...(b.memory_mib === undefined ? {} : { memoryMiB: b.memory_mib }),
      args: [b.agent, ...(b.args ?? [])],
      ...(b.queries === undefined ? {} : { queries: queriesOf(host, b.queries) }),
    });
    reply.code(201).header('location', `/v1/processes/${view.pid}`);
    return processJson(view, false);
  });

  app.get('/v1/processes', { schema: routes.list }, async () => ({ processes: host.list().map((v) => processJson(v, false)) }));

  app.get('/v1/processes/:pid', { schema: routes.inspect }, async (req) => processJson(host.inspect(pidOf(req)), true));

  app.post('/v1/processes/:pid/kill', { schema: routes.kill, onRequest: requireToken }, async (req) => {
    const pid = pidOf(req);
    alive(pid);
    return processJson(host.kill(pid), false);
  });

  app.put('/v1/processes/:pid/bid', { schema: routes.bid, onRequest: requireToken }, async (req) => {
    const pid = pidOf(req);
    alive(pid);
    return processJson(host.setBid(pid, (req.body as { bid: number }).bid), false);
  });

  app.get('/v1/wallets/:wallet', { schema: routes.wallet }, async (req) => walletJson(walletOf(req)));

  app.post('/v1/wallets/:wallet/fund', { schema: routes.fund, onRequest: requireToken }, async (req) => {
    const wallet = walletOf(req);
    host.fund(wallet, (req.body as { amount_j: number }).amount_j);
    return walletJson(wallet);
  });

  app.get('/v1/ledger/tail', { schema: routes.tail }, async (req) => {
    const n = Number((req.query as { n?: string }).n ?? 20);
    // A read-only connection of its own: the host's writer is not disturbed, and what is read is
    // what is durable (sealed into a signed epoch).
    const store = openLedgerReadonly(ledgerPath(host.stateDir));
    try {
      return tailJson(readTail(store, n));
    } finally {
      store.close();
    }
  });

  app.get('/v1/price-history', { schema: routes.prices }, async () => ({
    // The newest sample's source (a meter that goes stale hands over to the model; each sample says).
    power_source: host.priceHistory().at(-1)?.powerSource ?? 'estimated',
    samples: host.priceHistory().map((s) => ({ time_ms: s.timeMs, price_tokens_per_j: s.priceTokensPerJ, power_w: s.powerW, power_source: s.powerSource, utilisation: s.utilisation })),
  }));

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
