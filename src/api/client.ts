/**
 * A client of a node's HTTP API (`maxwell ps`, `kill`, `run --node`), on Node's global fetch.
 *
 * Where the node is: --node URL, else the url in STATE/api.json (written by `maxwell up`).
 * The token (only sent with requests that change state): --token, else $MAXWELL_TOKEN, else
 * STATE/api-token. The node's error bodies come back as MaxwellErrors with the node's code, so
 * the CLI maps them to exit statuses as it does its own.
 */
import { ErrorCode, MaxwellError } from '../errors.js';
import { apiInfoPath, apiTokenPath, processAlive, readApiInfo, readToken } from './files.js';

/** A process as the API returns it (schemas.ts: Process). */
export interface ApiProcess {
  pid: number;
  agent: string;
  wallet: string;
  state: 'waiting' | 'running' | 'dying' | 'dead';
  bid: number;
  balance_j: number;
  energy_j: number;
  energy_source: 'estimated' | 'measured';
  charged_j: number;
  rent_j: number;
  tax_j: number;
  memory_bytes: number;
  fuel: number;
  started_ms: number;
  exit: { reason: string; code: number | null; error_code: string | null; message: string } | null;
  proof?: { claims: number; accepted: number; rejected: number; samples: number; bits: number; bits_per_j: number; reward_j: number; last_rejection: string | null; soundness_bits: number | null };
  stdout?: string;
  stderr?: string;
}

export interface ApiWallet {
  wallet: string;
  balance_j: number;
  balance_uj: number;
  available_j: number;
}

export interface ApiNode {
  node_key: string;
  power_cap_w: number;
  reserve_price_tokens_per_j: number;
  avg_power_w: number;
  power_source: string;
  workers: number;
  uptime_s: number;
  live_processes: number;
  ledger_entries: number;
  lost: { pid: number; agent: string; wallet: string; started_ms: number }[];
}

export interface NodeTarget {
  url: string;
  token: string | undefined;
  /** Where the token came from, for error messages. */
  tokenFrom: string | undefined;
}

/** How long one request may take (ms); a submit carries up to 22 MB of base64. */
const REQUEST_TIMEOUT_MS = 30_000;
const SUBMIT_TIMEOUT_MS = 120_000;

const CODES = new Set<string>(Object.values(ErrorCode));

/** Finds the node and the token from the flags, the environment and the state directory. */
export function resolveNode(o: { node?: string | undefined; token?: string | undefined; stateDir: string }): NodeTarget {
  let url = o.node;
  if (url === undefined) {
    const info = readApiInfo(o.stateDir);
    if (info === undefined) {
      throw new MaxwellError(ErrorCode.NODE_UNREACHABLE, `no node is running on ${o.stateDir} (no ${apiInfoPath(o.stateDir)}): start one with \`maxwell up\`, or pass --node URL`);
    }
    if (!processAlive(info.pid)) {
      throw new MaxwellError(ErrorCode.NODE_UNREACHABLE, `the node that wrote ${apiInfoPath(o.stateDir)} (pid ${info.pid}, ${info.url}) is not running: start one with \`maxwell up\``);
    }
    url = info.url;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--node must be a URL such as http://127.0.0.1:7070, not '${url}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--node must be an http(s) URL, not '${url}'`);
  const base = parsed.toString().replace(/\/+$/, '');
  if (o.token !== undefined) return { url: base, token: o.token, tokenFrom: '--token' };
  const env = process.env.MAXWELL_TOKEN;
  if (env !== undefined && env !== '') return { url: base, token: env, tokenFrom: '$MAXWELL_TOKEN' };
  const path = apiTokenPath(o.stateDir);
  const file = readToken(path);
  return { url: base, token: file, tokenFrom: file === undefined ? undefined : path };
}

export class NodeClient {
  constructor(readonly target: NodeTarget) {}

  node(): Promise<ApiNode> {
    return this.request('GET', '/v1/node');
  }
  async list(): Promise<ApiProcess[]> {
    return (await this.request<{ processes: ApiProcess[] }>('GET', '/v1/processes')).processes;
  }
  inspect(pid: number): Promise<ApiProcess> {
    return this.request('GET', `/v1/processes/${pid}`);
  }
  submit(o: { module: Uint8Array; agent: string; wallet: string; bid?: number; memoryMiB?: number; args?: string[] }): Promise<ApiProcess> {
    return this.request('POST', '/v1/processes', {
      module_base64: Buffer.from(o.module.buffer, o.module.byteOffset, o.module.byteLength).toString('base64'),
      agent: o.agent,
      wallet: o.wallet,
      ...(o.bid === undefined ? {} : { bid: o.bid }),
      ...(o.memoryMiB === undefined ? {} : { memory_mib: o.memoryMiB }),
      ...(o.args === undefined ? {} : { args: o.args }),
    }, { auth: true, timeoutMs: SUBMIT_TIMEOUT_MS });
  }
  kill(pid: number): Promise<ApiProcess> {
    return this.request('POST', `/v1/processes/${pid}/kill`, undefined, { auth: true });
  }
  setBid(pid: number, bid: number): Promise<ApiProcess> {
    return this.request('PUT', `/v1/processes/${pid}/bid`, { bid }, { auth: true });
  }
  wallet(wallet: string): Promise<ApiWallet> {
    return this.request('GET', `/v1/wallets/${wallet}`);
  }
  fund(wallet: string, amountJ: number): Promise<ApiWallet> {
    return this.request('POST', `/v1/wallets/${wallet}/fund`, { amount_j: amountJ }, { auth: true });
  }

  /** One request; the node's error body becomes a MaxwellError with its code. */
  async request<T>(method: string, path: string, body?: unknown, o: { auth?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const { url, token } = this.target;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (o.auth && token !== undefined) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(o.timeoutMs ?? REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw unreachable(url, err);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MaxwellError(ErrorCode.NODE_UNREACHABLE, `${url} answered ${method} ${path} with HTTP ${res.status} and no JSON: is it a Maxwell node?`);
    }
    if (res.ok) return json as T;
    const e = (json as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof e?.code !== 'string' || typeof e.message !== 'string') {
      throw new MaxwellError(ErrorCode.NODE_UNREACHABLE, `${url} answered ${method} ${path} with HTTP ${res.status} and no Maxwell error: is it a Maxwell node?`);
    }
    const code = CODES.has(e.code) ? (e.code as ErrorCode) : ErrorCode.INTERNAL;
    let message = e.message;
    if (code === ErrorCode.UNAUTHORIZED) {
      message += this.target.tokenFrom === undefined
        ? ' (no token: pass --token, set MAXWELL_TOKEN, or use --state with the node\'s state directory, whose api-token holds it)'
        : ` (the token from ${this.target.tokenFrom} was refused)`;
    }
    throw new MaxwellError(code, message, { status: res.status });
  }
}

/** A fetch failure, said plainly: the usual cause is a node that is not running. */
function unreachable(url: string, err: unknown): MaxwellError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return new MaxwellError(ErrorCode.NODE_UNREACHABLE, `the node at ${url} did not answer in time`);
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return new MaxwellError(ErrorCode.NODE_UNREACHABLE, `no node is listening at ${url} (connection refused): start one with \`maxwell up\``);
  return new MaxwellError(ErrorCode.NODE_UNREACHABLE, `cannot reach the node at ${url}: ${code ?? e.cause?.message ?? e.message}`);
}

/** Waits until a process is dead (polling every `everyMs`), then returns it with its output. */
export async function waitDead(client: NodeClient, pid: number, o: { everyMs?: number; timeoutMs?: number } = {}): Promise<ApiProcess | undefined> {
  const every = o.everyMs ?? 100;
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  for (;;) {
    const p = await client.inspect(pid);
    if (p.state === 'dead') return p;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, every));
  }
}
