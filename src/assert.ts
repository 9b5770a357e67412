/**
 * A broken invariant is a bug in Maxwell, not an operating error: it throws loudly and is never
 * caught by the code that checks it. Callers must not use assert for bad input.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`invariant broken: ${message}`);
}
