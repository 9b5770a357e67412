/**
 * The process ABI: the `maxwell` import module a guest may use to talk to its node.
 * docs/abi.md holds the contract. The runtime provides `log`; the kernel adds the market and
 * ledger calls (bid, balance, price, discard, claim) through `AbiHost` when it lands.
 */
export const ABI_MODULE = 'maxwell';
export const ABI_FUNCTIONS = ['log'] as const;

export interface AbiContext {
  memory(): WebAssembly.Memory;
  /** Append a line to the process's log (stderr capture), charged like any output. */
  log(bytes: Uint8Array): void;
  chargeIo(bytes: number): void;
}

export function abiImports(ctx: AbiContext): Record<string, (...args: never[]) => number | void> {
  return {
    /** log(ptr, len): a UTF-8 line for the operator; returns 0, or 21 (EFAULT) for a bad range. */
    log: (ptr: number, len: number) => {
      // i32 arguments arrive signed; made unsigned so a "negative" length cannot charge negative fuel.
      ptr >>>= 0;
      len >>>= 0;
      try {
        const bytes = new Uint8Array(ctx.memory().buffer, ptr, len);
        ctx.chargeIo(len);
        ctx.log(bytes);
        return 0;
      } catch (err) {
        if (err instanceof RangeError) return 21;
        throw err;
      }
    },
  };
}
