/** Shared argument helpers for the subcommands (node:util parseArgs does the parsing). */
import { ErrorCode, MaxwellError } from '../errors.js';

export function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--${name} must be a positive number, not '${raw}'`);
  }
  return n;
}

export function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  const n = positiveNumber(name, raw, fallback);
  if (!Number.isInteger(n)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--${name} must be an integer, not '${raw}'`);
  return n;
}

/** Wraps parseArgs' own errors (unknown option, missing value) as usage errors. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof MaxwellError) throw err;
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, (err as Error).message);
  }
}

/**
 * `maxwell <command> <subcommand> ...`: the subcommand (the first positional) must be one of
 * `allowed`'s keys, and every option given must be one that subcommand takes. Returns the
 * subcommand and the positionals after it. (The commands with subcommands share this.)
 */
export function subcommand(command: string, positionals: string[], tokens: readonly { kind: string; name?: string; rawName?: string }[],
  allowed: Record<string, readonly string[]>): { sub: string; rest: string[] } {
  const [sub, ...rest] = positionals as [string, ...string[]];
  const options = allowed[sub];
  if (options === undefined) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `unknown subcommand '${sub}': one of ${Object.keys(allowed).join(', ')} (maxwell ${command} --help)`);
  }
  for (const t of tokens) {
    if (t.kind === 'option' && !options.includes(t.name!)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${t.rawName} is not an option of \`${command} ${sub}\``);
  }
  return { sub, rest };
}
