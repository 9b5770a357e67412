/**
 * The JSON schemas of the node's HTTP API (v1): every request is validated by one (fastify's
 * Ajv, with no type coercion and no silent removal of unknown fields: a field the schema does
 * not name is refused), every response is serialised through one, and /openapi.json is built
 * from the same objects. Names are snake_case, units last (`balance_j`, `memory_mib`).
 *
 * Path and query parameters arrive as text and are matched by patterns here (Ajv could only
 * turn them into numbers by coercing the bodies' types too, which would accept `"bid": "5"`).
 */
import { MAX_MODULE_BYTES } from '../kernel/host.js';

/** The longest base64 text of a module the node accepts (4 characters per 3 bytes, padded). */
export const MAX_MODULE_BASE64_CHARS = Math.ceil(MAX_MODULE_BYTES / 3) * 4;
/** The most arguments a process may be given, and the longest one. */
export const MAX_ARGS = 64;
export const MAX_ARG_CHARS = 4096;
/** The most ledger entries one tail request returns. */
export const MAX_TAIL = 1000;

export const AGENT_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
export const WALLET_PATTERN = '^[0-9a-fA-F]{64}$';
/** The most query input one submission carries (decoded), and its base64. */
export const MAX_QUERY_INPUT_BYTES = 1 << 20;
export const MAX_QUERY_INPUT_BASE64_CHARS = Math.ceil(MAX_QUERY_INPUT_BYTES / 3) * 4;
const BASE64_PATTERN = '^[A-Za-z0-9+/]*={0,2}$';
const PID_PATTERN = '^[0-9]{1,15}$';
const TAIL_N_PATTERN = '^(1000|[1-9][0-9]{0,2})$';

/** What a pattern failure says about each field (Ajv would print the regular expression). */
export const PATTERN_HINTS: Record<string, string> = {
  agent: 'an agent name: 1–64 of A–Z, a–z, 0–9, _, . and -',
  wallet: 'a wallet: 64 hex digits (an Ed25519 public key)',
  module_base64: 'base64 (RFC 4648, with + and /)',
  pid: 'a process id: a whole number',
  n: `a whole number from 1 to ${MAX_TAIL}`,
};

const error = {
  $id: 'Error',
  type: 'object',
  description: 'Every failure: a stable code (docs/api.md lists them) and a message naming the bad thing.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', pattern: '^E_[A-Z_]+$' }, message: { type: 'string' } },
    },
  },
} as const;

const processView = {
  $id: 'Process',
  type: 'object',
  description: 'One process as the node shows it. Amounts in J of tokens (1 token = 1 J); energy is estimated by the calibrated model.',
  required: ['pid', 'agent', 'wallet', 'state', 'bid', 'balance_j', 'energy_j', 'energy_source', 'charged_j', 'rent_j', 'tax_j', 'memory_bytes', 'fuel', 'started_ms', 'exit'],
  properties: {
    pid: { type: 'integer' },
    agent: { type: 'string' },
    wallet: { type: 'string', description: 'the paying wallet, 64 hex digits' },
    state: { type: 'string', enum: ['waiting', 'running', 'dying', 'dead'] },
    bid: { type: 'number', description: 'standing bid, tokens/J' },
    balance_j: { type: 'number', description: "the wallet's balance not held by erasure bonds" },
    energy_j: { type: 'number' },
    energy_source: { type: 'string', enum: ['estimated', 'measured'] },
    charged_j: { type: 'number' },
    rent_j: { type: 'number' },
    tax_j: { type: 'number' },
    memory_bytes: { type: 'integer' },
    fuel: { type: 'integer' },
    started_ms: { type: 'integer', description: 'Unix time, ms' },
    exit: {
      type: ['object', 'null'],
      description: 'null while alive',
      required: ['reason', 'code', 'error_code', 'message'],
      properties: {
        reason: { type: 'string', description: 'exit, apoptosis, trap, killed or invalid' },
        code: { type: ['integer', 'null'], description: "the program's exit code (reason exit)" },
        error_code: { type: ['string', 'null'] },
        message: { type: 'string' },
      },
    },
    proof: {
      type: 'object',
      description: "its answers to a requester's queries (present if it was given any): claims checked, and the information gain verified and paid for",
      required: ['claims', 'accepted', 'rejected', 'samples', 'bits', 'bits_per_j', 'reward_j', 'last_rejection', 'soundness_bits'],
      properties: {
        claims: { type: 'integer' },
        accepted: { type: 'integer' },
        rejected: { type: 'integer' },
        samples: { type: 'integer' },
        bits: { type: 'number', description: 'verified information gain, bits' },
        bits_per_j: { type: 'number', description: "bits per J of the process's energy (estimated)" },
        reward_j: { type: 'number' },
        last_rejection: { type: ['string', 'null'], description: 'the error code of the last claim refused' },
        soundness_bits: { type: ['number', 'null'], description: "−log2 of the largest chance that one of its accepted claims was false (Freivalds' check: ≥ 40, i.e. ≤ 2^-40; 0 if one was accepted unchecked under spot checks; null before any or when every one was re-executed)" },
      },
    },
    stdout: { type: 'string', description: 'what it wrote to fd 1 (only on GET /v1/processes/{pid} once dead)' },
    stderr: { type: 'string' },
  },
} as const;

/** Shared schemas, added to fastify (and so to the OpenAPI document's components) by $id. */
export const SHARED_SCHEMAS = [error, processView];

const errors = { '4xx': { $ref: 'Error#' }, '5xx': { $ref: 'Error#' } } as const;
const auth = [{ bearer: [] }];
const pidParams = {
  type: 'object',
  additionalProperties: false,
  required: ['pid'],
  properties: { pid: { type: 'string', pattern: PID_PATTERN } },
} as const;
const walletParams = {
  type: 'object',
  additionalProperties: false,
  required: ['wallet'],
  properties: { wallet: { type: 'string', pattern: WALLET_PATTERN } },
} as const;
const walletView = {
  type: 'object',
  required: ['wallet', 'balance_j', 'balance_uj', 'available_j'],
  properties: {
    wallet: { type: 'string' },
    balance_j: { type: 'number' },
    balance_uj: { type: 'integer', description: 'exact: the ledger keeps integer µJ' },
    available_j: { type: 'number', description: 'the balance less what erasure bonds hold' },
  },
} as const;

export const routes = {
  node: {
    summary: 'The node: its key, power cap, reserve price, average power (estimated), workers, uptime, lost processes',
    tags: ['node'],
    response: {
      200: {
        type: 'object',
        required: ['node_key', 'power_cap_w', 'reserve_price_tokens_per_j', 'avg_power_w', 'power_source', 'workers', 'uptime_s', 'live_processes', 'ledger_entries', 'lost'],
        properties: {
          node_key: { type: 'string', description: "the node's Ed25519 public key (the treasury wallet; it signs the ledger)" },
          power_cap_w: { type: 'number' },
          reserve_price_tokens_per_j: { type: 'number' },
          avg_power_w: { type: 'number', description: 'since the node started' },
          power_source: { type: 'string', enum: ['estimated', 'measured'] },
          workers: { type: 'integer' },
          uptime_s: { type: 'number' },
          live_processes: { type: 'integer' },
          ledger_entries: { type: 'integer' },
          models: {
            type: 'array',
            description: 'the models whose inference claims this node checks and pays for (proof of useful work)',
            items: {
              type: 'object',
              required: ['hash', 'name', 'inputs', 'classes'],
              properties: { hash: { type: 'string' }, name: { type: 'string' }, inputs: { type: 'integer' }, classes: { type: 'integer' } },
            },
          },
          reward_uj_per_bit: { type: 'number', description: 'what a verified bit of information gain earns, µJ of tokens' },
          lost: {
            type: 'array',
            description: 'processes that were alive when the node last stopped without closing them (their deaths are in the ledger as lost)',
            items: {
              type: 'object',
              required: ['pid', 'agent', 'wallet', 'started_ms'],
              properties: { pid: { type: 'integer' }, agent: { type: 'string' }, wallet: { type: 'string' }, started_ms: { type: 'integer' } },
            },
          },
        },
      },
      ...errors,
    },
  },
  submit: {
    summary: 'Submit a process: a WASI command module, paid from a funded wallet',
    tags: ['processes'],
    security: auth,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['module_base64', 'agent', 'wallet'],
      properties: {
        module_base64: { type: 'string', minLength: 1, pattern: BASE64_PATTERN, description: `the module's bytes in base64; at most ${MAX_MODULE_BYTES} bytes decoded (413 E_TOO_LARGE past that)` },
        agent: { type: 'string', minLength: 1, maxLength: 64, pattern: AGENT_PATTERN, description: "the process's name (also its argv[0])" },
        wallet: { type: 'string', pattern: WALLET_PATTERN, description: 'the paying wallet: it must have been funded on this node' },
        bid: { type: 'number', exclusiveMinimum: 0, maximum: 1e9, description: 'standing bid, tokens/J (default the base price)' },
        memory_mib: { type: 'integer', minimum: 1, maximum: 4096, description: 'memory limit (default 64)' },
        args: { type: 'array', maxItems: MAX_ARGS, items: { type: 'string', maxLength: MAX_ARG_CHARS }, description: 'the arguments after argv[0]' },
        queries: {
          type: 'object',
          additionalProperties: false,
          required: ['requester', 'model_hash', 'batch', 'inputs_base64'],
          description: "queries for the process to answer with inference claims (proof of useful work, docs/proof.md): the requester's wallet pays the fee (the most the answers can earn) when the process is admitted",
          properties: {
            requester: { type: 'string', pattern: WALLET_PATTERN, description: 'the wallet that pays the fee' },
            model_hash: { type: 'string', pattern: '^[0-9a-fA-F]{64}$', description: 'a model registered on this node (GET /v1/node lists them)' },
            batch: { type: 'integer', minimum: 1, maximum: 4096, description: 'samples per query' },
            inputs_base64: { type: 'string', minLength: 1, maxLength: MAX_QUERY_INPUT_BASE64_CHARS, pattern: BASE64_PATTERN, description: `every query's int8 inputs, sample-major, one query after another (queries × batch × the model's inputs bytes; at most ${MAX_QUERY_INPUT_BYTES} bytes)` },
          },
        },
      },
    },
    response: { 201: { $ref: 'Process#' }, ...errors },
  },
  list: {
    summary: 'The live processes and the most recent dead ones, newest first (without their output)',
    tags: ['processes'],
    response: {
      200: { type: 'object', required: ['processes'], properties: { processes: { type: 'array', items: { $ref: 'Process#' } } } },
      ...errors,
    },
  },
  inspect: {
    summary: 'One process, with its stdout and stderr once it is dead',
    tags: ['processes'],
    params: pidParams,
    response: { 200: { $ref: 'Process#' }, ...errors },
  },
  kill: {
    summary: "Kill a live process (its death is recorded as killed). No body. The kill takes effect within a slot; poll the process to see it dead",
    tags: ['processes'],
    security: auth,
    params: pidParams,
    response: { 200: { $ref: 'Process#' }, ...errors },
  },
  bid: {
    summary: "Set a live process's standing bid (tokens/J)",
    tags: ['processes'],
    security: auth,
    params: pidParams,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['bid'],
      properties: { bid: { type: 'number', exclusiveMinimum: 0, maximum: 1e9 } },
    },
    response: { 200: { $ref: 'Process#' }, ...errors },
  },
  wallet: {
    summary: "A wallet's balance on this node's ledger (404 E_WALLET_UNKNOWN if it was never paid)",
    tags: ['wallets'],
    params: walletParams,
    response: { 200: walletView, ...errors },
  },
  fund: {
    summary: "Grant J from the node's treasury to a wallet (minting first what the power cap has accrued)",
    tags: ['wallets'],
    security: auth,
    params: walletParams,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['amount_j'],
      properties: { amount_j: { type: 'number', exclusiveMinimum: 0, maximum: 9e9, description: 'J, exact to the µJ' } },
    },
    response: { 200: walletView, ...errors },
  },
  tail: {
    summary: "The ledger's last committed entries (sealed into a signed epoch; entries of the last ~100 ms may not be there yet)",
    tags: ['ledger'],
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { n: { type: 'string', pattern: TAIL_N_PATTERN, description: `how many entries, 1–${MAX_TAIL} (default 20)` } },
    },
    response: {
      200: {
        type: 'object',
        required: ['node_key', 'head', 'entries'],
        properties: {
          node_key: { type: ['string', 'null'] },
          head: {
            type: ['object', 'null'],
            description: 'the last signed epoch head',
            properties: {
              epoch: { type: 'integer' }, tree_size: { type: 'integer' }, time: { type: 'string' }, time_ms: { type: 'integer' },
              root: { type: 'string' }, signature: { type: 'string' },
            },
          },
          entries: {
            type: 'array',
            items: { type: 'object', additionalProperties: true, description: 'an entry as `maxwell ledger tail --json` shows it: seq, time, kind, from, to, amount_uj and the kind\'s own fields' },
          },
        },
      },
      ...errors,
    },
  },
  prices: {
    summary: "The node's reserve price and power (estimated) over the last minute, a sample every 100 ms, oldest first",
    tags: ['node'],
    response: {
      200: {
        type: 'object',
        required: ['power_source', 'samples'],
        properties: {
          power_source: { type: 'string', enum: ['estimated', 'measured'] },
          samples: {
            type: 'array',
            items: {
              type: 'object',
              required: ['time_ms', 'price_tokens_per_j', 'power_w', 'power_source', 'utilisation'],
              properties: {
                time_ms: { type: 'integer' }, price_tokens_per_j: { type: 'number' }, power_w: { type: 'number' },
                power_source: { type: 'string', enum: ['estimated', 'measured'] }, utilisation: { type: 'number' },
              },
            },
          },
        },
      },
      ...errors,
    },
  },
} as const;
