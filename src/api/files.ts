/**
 * The files a running node's API leaves in its state directory, so that clients on the same
 * machine find it:
 *
 *   api-token   the bearer token for requests that change state (64 hex digits, mode 0600);
 *               made by the first `maxwell up`, reused after (a client reads it to authenticate)
 *   api.json    {"url", "pid"} of the node now serving (written once it listens, removed when it stops)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, MaxwellError } from '../errors.js';

export const apiTokenPath = (stateDir: string) => join(stateDir, 'api-token');
export const apiInfoPath = (stateDir: string) => join(stateDir, 'api.json');

/** The shortest token accepted from a file (a hand-made one must still be hard to guess). */
export const MIN_TOKEN_CHARS = 32;

export interface ApiInfo {
  url: string;
  pid: number;
}

/**
 * The token in `path`, or a new one (32 random bytes, hex) written there with mode 0600 if the
 * file does not exist. Created with O_EXCL, so two nodes starting at once agree on one token.
 */
export function loadOrCreateToken(path: string): { token: string; created: boolean } {
  const existing = readToken(path);
  if (existing !== undefined) return { token: existing, created: false };
  const token = randomBytes(32).toString('hex');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, `${token}\n`, { flag: 'wx', mode: 0o600 });
    return { token, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { token: readToken(path)!, created: false };
    throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `cannot write the API token ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path });
  }
}

/** The token in `path`, or undefined if there is no such file. A file too short to be a token is refused. */
export function readToken(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `cannot read the API token ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path });
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_CHARS || /\s/.test(token)) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${path} does not hold a token (one line of at least ${MIN_TOKEN_CHARS} characters): delete it to have \`maxwell up\` make a new one`, { path });
  }
  return token;
}

/** True when a token file can be read by others than its owner (the node warns). */
export function tokenFileIsOpen(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/** Writes STATE/api.json (through a rename, so a client never reads half of it). */
export function writeApiInfo(stateDir: string, info: ApiInfo): void {
  const path = apiInfoPath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/** STATE/api.json, or undefined if there is none or it is not one. */
export function readApiInfo(stateDir: string): ApiInfo | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(apiInfoPath(stateDir), 'utf8'));
  } catch {
    return undefined;
  }
  const o = raw as Partial<ApiInfo>;
  if (typeof o !== 'object' || o === null || typeof o.url !== 'string' || !Number.isSafeInteger(o.pid)) return undefined;
  return { url: o.url, pid: o.pid! };
}

/** Removes STATE/api.json if it is still this process's (a newer node may have replaced it). */
export function removeApiInfo(stateDir: string, pid = process.pid): void {
  if (readApiInfo(stateDir)?.pid === pid) rmSync(apiInfoPath(stateDir), { force: true });
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
