// The AssemblyScript binding of Maxwell's process ABI (docs/abi.md): the `maxwell`
// import module, through which a process talks to the node that runs it.
//
// Outside a Maxwell node (e.g. under plain node:wasi) a host must provide these
// imports too; the tests do, with "no node" answers (an unlimited balance, the
// base price).

@external("maxwell", "bid")
declare function maxwell_bid(priceUtPerJ: i64): i32;

@external("maxwell", "balance")
declare function maxwell_balance(): i64;

@external("maxwell", "price")
declare function maxwell_price(): i64;

@external("maxwell", "discard")
declare function maxwell_discard(ptr: usize, len: usize): i32;

@external("maxwell", "query")
declare function maxwell_query(ptr: usize, cap: usize): i32;

@external("maxwell", "claim")
declare function maxwell_claim(ptr: usize, len: usize): i32;

// Amounts are integers in the ledger's units: µJ of tokens (1 token = 1 J =
// 1,000,000 µJ) and µtokens per J (BASE_PRICE = 1 token/J).

/** The base price, 1 token/J, in µtokens/J. */
export const BASE_PRICE: i64 = 1_000_000;

/** ABI return codes. */
export const OK: i32 = 0;
export const EFAULT: i32 = 21;
export const EINVAL: i32 = 28;
export const ECANNOTPAY: i32 = 1024;
export const EAGAIN: i32 = 6;

/** A query's header: session [16], batch u32 LE, inputs per sample u32 LE; then the int8 input. */
export const QUERY_HEADER: i32 = 24;
export const SESSION_BYTES: i32 = 16;

/**
 * Sets this process's standing bid for slots (µtokens per joule). The node
 * sells each slot to the highest bid at or above its reserve price; the winner
 * pays the larger of the reserve and the second bid. Returns OK or EINVAL.
 */
export function setBid(priceUtPerJ: i64): i32 {
  return maxwell_bid(priceUtPerJ);
}

/** What this process's wallet can still spend (µJ of tokens), as of now. */
export function balance(): i64 {
  return maxwell_balance();
}

/** The node's reserve price now (µtokens/J): no slot sells for less. */
export function price(): i64 {
  return maxwell_price();
}

/**
 * Erases `len` bytes at `ptr` (zeroes them) and pays the entropy tax on them.
 * Returns OK, EFAULT (a bad range) or ECANNOTPAY (nothing was erased).
 */
export function discard(ptr: usize, len: usize): i32 {
  return maxwell_discard(ptr, len);
}

/**
 * Copies the next query a requester gave this process to `ptr` (at most `cap`
 * bytes): its length (header + batch × inputs int8, sample-major), 0 when none
 * is left, -EFAULT for a bad range, or -EINVAL when `cap` is too small (the
 * query is kept for a bigger buffer).
 */
export function query(ptr: usize, cap: usize): i32 {
  return maxwell_query(ptr, cap);
}

/**
 * Submits the answer to a query: its session [16], then for every layer of the
 * model its int32 accumulators [batch][outputs], little-endian. Returns OK (the
 * node checks it at the slot's end and pays the information gain it verifies
 * into this process's wallet), EINVAL (a session not handed out, or already
 * answered, or a bad length), EFAULT, or EAGAIN (this slot holds its limit of
 * claims: call again).
 */
export function claim(ptr: usize, len: usize): i32 {
  return maxwell_claim(ptr, len);
}
