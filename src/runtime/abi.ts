/**
 * The process ABI: the `maxwell` import module a guest uses to talk to its node. docs/abi.md
 * holds the contract; agents/lib/maxwell.ts is the AssemblyScript binding.
 *
 *   log(ptr, len) -> i32             a UTF-8 line for the operator
 *   bid(price_ut_per_j: i64) -> i32  sets the process's standing bid for slots
 *   balance() -> i64                 what the process's wallet can still spend, µJ of tokens
 *   price() -> i64                   the node's reserve price now, µtokens/J (no slot sells for less)
 *   discard(ptr, len) -> i32         erases (zeroes) bytes of memory, paying the entropy tax
 *   query(ptr, cap) -> i32           copies the next query a requester gave the process; 0: none left
 *   claim(ptr, len) -> i32           submits the answer to a query (an inference claim) for checking
 *
 * Amounts are integers in the ledger's units (1 token = 1 J = 10^6 µJ; a price of 10^6 µtokens/J
 * is the base price of 1 token/J), so that a guest needs no floating point to budget exactly.
 *
 * and the guest may export `maxwell_apoptosis: () -> ()`, its death notice: run on a small grace
 * of fuel when the node kills it for not paying.
 *
 * The market and the ledger live on the node's main thread, the process on a worker thread, and
 * a Wasm import cannot wait for another thread. So each slot the kernel sells carries a view
 * (`SlotView`): the wallet's spendable balance when the slot began and the slot's price per fuel.
 * Within the slot the process spends from that view (its running energy, the bonds of the memory
 * it grows, the tax of what it discards) and at the slot's end the worker reports what it did
 * (SlotEnd: bid, bytes grown, bytes discarded), which the kernel settles in the ledger. Outside a
 * kernel (a round-robin pool, `maxwell run`), the view is the energy budget at the base price.
 */
export const ABI_MODULE = 'maxwell';
export const ABI_FUNCTIONS = ['log', 'bid', 'balance', 'price', 'discard', 'query', 'claim'] as const;
/** The export a guest may provide to hear of its death. */
export const APOPTOSIS_EXPORT = 'maxwell_apoptosis';

/** Return codes (WASI's numbers for fault and inval, so a C guest can reuse its errno names). */
export const ABI_OK = 0;
export const ABI_EFAULT = 21;
export const ABI_EINVAL = 28;
/** The wallet cannot pay for the operation (outside WASI's errno range on purpose). */
export const ABI_ECANNOTPAY = 1024;
/** Try again on a later slot (WASI's again): the slot's report holds its limit of claims. */
export const ABI_EAGAIN = 6;

/**
 * Queries and claims (proof of useful work, docs/proof.md). A query is written to the guest as
 * session [16] ‖ batch u32 LE ‖ inputs u32 LE (per sample) ‖ input int8 [batch][inputs]; a claim is
 * session [16] ‖ for every layer of the query's model, its int32 LE accumulators [batch][outputs].
 * Sample-major, as an agent computes them; the node transposes.
 */
export const QUERY_HEADER_BYTES = 24;
export const SESSION_BYTES = 16;
/** The largest claim a guest may submit, and the most claims one slot's report carries. */
export const MAX_CLAIM_BYTES = 1 << 20;
export const MAX_CLAIMS_PER_SLOT = 16;

/** The most a bid may be (µtokens/J): 10^9 tokens/J, the market's price range. */
export const ABI_MAX_BID_UT_PER_J = 10n ** 15n;
/** µtokens per token. */
const UT = 1e6;

/** What a process's ABI calls see during one slot the kernel sold it. */
export interface SlotView {
  /** The wallet's spendable balance (not held by bonds) when the slot began, µJ. */
  balanceUj: number;
  /** What a fuel unit costs on this slot: joules per fuel × the slot's price, in µJ of tokens. */
  ujPerFuel: number;
  /** The node's reserve price when the slot was sold (tokens/J). */
  priceTokensPerJ: number;
  /** The entropy tax, µJ per byte erased (the bond for memory grown is the tax on it). */
  taxUjPerByte: number;
}

export interface AbiContext {
  memory(): WebAssembly.Memory;
  /** Append a line to the process's log (stderr capture), charged like any output. */
  log(bytes: Uint8Array): void;
  chargeIo(bytes: number): void;
  setBid(tokensPerJ: number): void;
  balanceUj(): number;
  priceTokensPerJ(): number;
  /** Erases [ptr, ptr + len) of guest memory (bounds already checked); returns an ABI code. */
  discard(ptr: number, len: number): number;
  /** Bytes of memory the guest may address (the save area above it is the node's). */
  guestBytes(): number;
  /** Writes the next query at ptr if it fits in cap (bounds checked): its length, 0 if none, or −EINVAL if cap is too small. */
  query(ptr: number, cap: number): number;
  /** Takes a claim at [ptr, ptr + len) (bounds checked); returns an ABI code. */
  claim(ptr: number, len: number): number;
}

export function abiImports(ctx: AbiContext): Record<string, (...args: never[]) => number | bigint | void> {
  return {
    /** log(ptr, len): a UTF-8 line for the operator; returns 0, or 21 (EFAULT) for a bad range. */
    log: (ptr: number, len: number) => {
      // i32 arguments arrive signed; made unsigned so a "negative" length cannot charge negative fuel.
      ptr >>>= 0;
      len >>>= 0;
      if (ptr + len > ctx.guestBytes()) return ABI_EFAULT;
      const bytes = new Uint8Array(ctx.memory().buffer, ptr, len);
      ctx.chargeIo(len);
      ctx.log(bytes);
      return ABI_OK;
    },
    // i64 crosses as a BigInt.
    bid: (priceUtPerJ: bigint) => {
      if (priceUtPerJ <= 0n || priceUtPerJ > ABI_MAX_BID_UT_PER_J) return ABI_EINVAL;
      ctx.setBid(Number(priceUtPerJ) / UT);
      return ABI_OK;
    },
    balance: () => BigInt(Math.floor(Math.min(ctx.balanceUj(), Number.MAX_SAFE_INTEGER))),
    price: () => BigInt(Math.ceil(ctx.priceTokensPerJ() * UT)),
    discard: (ptr: number, len: number) => {
      ptr >>>= 0;
      len >>>= 0;
      if (ptr + len > ctx.guestBytes()) return ABI_EFAULT;
      if (len === 0) return ABI_OK;
      return ctx.discard(ptr, len);
    },
    /** query(ptr, cap): the next query's length (written at ptr), 0 when none is left, −21 or −28. */
    query: (ptr: number, cap: number) => {
      ptr >>>= 0;
      cap >>>= 0;
      if (ptr + cap > ctx.guestBytes()) return -ABI_EFAULT;
      return ctx.query(ptr, cap);
    },
    /** claim(ptr, len): 0 (taken for checking; the reward, if any, reaches the wallet later), 21, 28 or 6. */
    claim: (ptr: number, len: number) => {
      ptr >>>= 0;
      len >>>= 0;
      if (ptr + len > ctx.guestBytes()) return ABI_EFAULT;
      if (len < SESSION_BYTES || len > MAX_CLAIM_BYTES) return ABI_EINVAL;
      return ctx.claim(ptr, len);
    },
  };
}
