/**
 * Operating errors: each has a stable code that names what went wrong, and a typed payload.
 * Codes are mapped to exit codes (CLI) and HTTP statuses (API) only at the edges.
 * Expected outcomes (a process ran out of budget, was outbid) are values, not errors;
 * broken invariants are assertions (see assert.ts), not errors.
 */
export const ErrorCode = {
  /** The bytes are not a valid WebAssembly module. */
  WASM_INVALID: 'E_WASM_INVALID',
  /** The module imports something the node does not provide. */
  IMPORT_MISSING: 'E_IMPORT_MISSING',
  /** The module imports something a guest may never import (the node's private yield). */
  IMPORT_FORBIDDEN: 'E_IMPORT_FORBIDDEN',
  /** The module uses a WebAssembly feature the node does not run (threads, GC, ...). */
  FEATURE_UNSUPPORTED: 'E_FEATURE_UNSUPPORTED',
  /** The module lacks the export the node needs to start it (`_start`). */
  EXPORT_MISSING: 'E_EXPORT_MISSING',
  /** The guest trapped (unreachable, division by zero, out-of-bounds access, ...). */
  TRAP: 'E_TRAP',
  /** The guest overflowed the call stack. */
  STACK_OVERFLOW: 'E_STACK_OVERFLOW',
  /** The guest tried to grow its memory past its limit. */
  MEMORY_LIMIT: 'E_MEMORY_LIMIT',
  /** The guest's suspended stack did not fit the node's save area. */
  STACK_SAVE_OVERFLOW: 'E_STACK_SAVE_OVERFLOW',
  /** The process used its whole energy budget. */
  BUDGET_EXHAUSTED: 'E_BUDGET_EXHAUSTED',
  /** The process was killed by the operator or the node. */
  KILLED: 'E_KILLED',
  /** A bad argument from a user (CLI flag, config value). */
  BAD_ARGUMENT: 'E_BAD_ARGUMENT',
  /** A file could not be read. */
  FILE_UNREADABLE: 'E_FILE_UNREADABLE',
  /** No such process. */
  NO_SUCH_PROCESS: 'E_NO_SUCH_PROCESS',
  /** The node is at its limit of live processes. */
  PROCESS_LIMIT: 'E_PROCESS_LIMIT',
  /** A sensor file exists but could not be parsed. */
  SENSOR_UNREADABLE: 'E_SENSOR_UNREADABLE',
  /** The node was stopped while the operation was pending. */
  NODE_STOPPED: 'E_NODE_STOPPED',
  /** A bid's price is not a finite positive number inside the market's range. */
  BID_INVALID: 'E_BID_INVALID',
  /** No standing bid for that process. */
  BID_UNKNOWN: 'E_BID_UNKNOWN',
  /** The market holds its limit of standing bids. */
  MARKET_FULL: 'E_MARKET_FULL',
  /** A ledger operation's amount is not a positive safe integer of microjoules, or would overflow one. */
  AMOUNT_INVALID: 'E_AMOUNT_INVALID',
  /** A wallet is not a 32-byte Ed25519 public key, or is the wrong party for the entry. */
  WALLET_INVALID: 'E_WALLET_INVALID',
  /** The wallet has never received tokens in this ledger. */
  WALLET_UNKNOWN: 'E_WALLET_UNKNOWN',
  /** A transfer's signature does not verify with the sender's key. */
  SIGNATURE_INVALID: 'E_SIGNATURE_INVALID',
  /** A transfer's nonce is not the sender's next one (a replay, or one out of order). */
  NONCE_INVALID: 'E_NONCE_INVALID',
  /** A mint would exceed what the node's power cap has accrued since the last mint. */
  MINT_EXCEEDS_CAP: 'E_MINT_EXCEEDS_CAP',
  /** The stored ledger breaks a validity rule (docs/ledger.md): `ledger verify` names the entry. */
  LEDGER_CORRUPT: 'E_LEDGER_CORRUPT',
  /** A receipt or proof does not verify. */
  RECEIPT_INVALID: 'E_RECEIPT_INVALID',
  /** The treasury has not yet accrued what was asked of it (it accrues at the power cap): try later. */
  TREASURY_SHORT: 'E_TREASURY_SHORT',
  /** A model's description is malformed (shapes, value ranges, sizes past the limits). */
  MODEL_INVALID: 'E_MODEL_INVALID',
  /** No model with that hash is registered on this node. */
  MODEL_UNKNOWN: 'E_MODEL_UNKNOWN',
  /** An inference claim is malformed, past a limit, or bound to another agent or session. */
  CLAIM_INVALID: 'E_CLAIM_INVALID',
  /** This very claim (the same digest) was already accepted: it is not paid twice. */
  CLAIM_REPLAYED: 'E_CLAIM_REPLAYED',
  /** A claim's outputs are not what its model computes on its inputs (the check caught it). */
  PROOF_INVALID: 'E_PROOF_INVALID',
  /** A Groth16 proof's bytes are not a proof: wrong length, a point not on the curve or not in its subgroup. */
  PROOF_MALFORMED: 'E_PROOF_MALFORMED',
  /** A Groth16 verification key is malformed (shape, points off the curve) or not the circuit's. */
  VKEY_INVALID: 'E_VKEY_INVALID',
  /** The circuit's trusted setup (powers of tau, proving key) has not been generated here: generate it first (docs/groth16-circuits.md, "Setup"). */
  SETUP_MISSING: 'E_SETUP_MISSING',
  /** A key file is missing, unreadable or not an Ed25519 key. */
  KEY_INVALID: 'E_KEY_INVALID',
  /** The process is dead: it can no longer be killed or rebid. */
  PROCESS_DEAD: 'E_PROCESS_DEAD',
  /** An API request that changes state came without the node's bearer token, or with a wrong one. */
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  /** An API request's body is not well-formed JSON. */
  BAD_JSON: 'E_BAD_JSON',
  /** An API request does not match its schema (the message names the field). */
  BAD_REQUEST: 'E_BAD_REQUEST',
  /** An API request or its module is larger than the node accepts. */
  TOO_LARGE: 'E_TOO_LARGE',
  /** No such API route. */
  NOT_FOUND: 'E_NOT_FOUND',
  /** The node failed in a way it did not expect (the node's log has the detail). */
  INTERNAL: 'E_INTERNAL',
  /** A client could not reach the node's API (not running, wrong URL). */
  NODE_UNREACHABLE: 'E_NODE_UNREACHABLE',
  /** A simulation would pass one of the simulator's limits (events pending, jobs, nodes). */
  SIM_LIMIT: 'E_SIM_LIMIT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class MaxwellError<D extends Record<string, unknown> = Record<string, unknown>> extends Error {
  readonly code: ErrorCode;
  readonly detail: D;
  constructor(code: ErrorCode, message: string, detail?: D) {
    super(message);
    this.name = 'MaxwellError';
    this.code = code;
    this.detail = detail ?? ({} as D);
  }
}

export function isMaxwellError(e: unknown, code?: ErrorCode): e is MaxwellError {
  return e instanceof MaxwellError && (code === undefined || e.code === code);
}
