// Runs the built `maxwell` command for the CLI tests (no tests here). Resolves with the exit
// code and both streams, whatever the code.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (this file runs from dist/test/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin/maxwell.js');
const exec = promisify(execFile);

export async function maxwell(args: string[], o: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: o.timeoutMs ?? 60_000, ...(o.env ? { env: { ...process.env, ...o.env } } : {}) });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
