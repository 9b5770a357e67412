/**
 * Reading sysfs attributes. Every reader takes a `root` so tests point it at a fixture tree
 * laid out like the real one (`<root>/sys/class/...`).
 *
 * The rules, shared by all readers:
 * - a file or directory that does not exist means the sensor is absent: `undefined` or `[]`;
 * - a file that exists but cannot be read (permission, I/O error, a driver that answers
 *   ENODATA) or whose content is not what the kernel documents is `E_SENSOR_UNREADABLE`,
 *   naming the file. It is never turned into 0.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MaxwellError, isMaxwellError } from '../../errors.js';
import type { SensorProblem } from './reading.js';

/** sysfs attributes are at most one page; anything longer is not a sysfs attribute. */
export const ATTRIBUTE_BYTES_MAX = 4096;
/** A limit on how many entries one sysfs class directory may hold before we stop listing. */
export const ENTRIES_MAX = 4096;

export type UnreadableReason = 'malformed' | 'permission' | 'io';

export interface SensorUnreadableDetail extends Record<string, unknown> {
  file: string;
  reason: UnreadableReason;
  errno?: string;
}

export function sensorUnreadable(
  file: string,
  reason: UnreadableReason,
  message: string,
  errno?: string,
): MaxwellError<SensorUnreadableDetail> {
  const detail: SensorUnreadableDetail = errno === undefined ? { file, reason } : { file, reason, errno };
  return new MaxwellError(ErrorCode.SENSOR_UNREADABLE, `${file}: ${message}`, detail);
}

export function sysClassPath(root: string, ...parts: string[]): string {
  return join(root, 'sys', 'class', ...parts);
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Absent, as opposed to present but unreadable. */
function isAbsent(errno: string | undefined): boolean {
  return errno === 'ENOENT' || errno === 'ENOTDIR';
}

/** The attribute's text, or `undefined` when the file does not exist. */
export async function readAttribute(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const errno = errnoOf(err);
    if (isAbsent(errno)) return undefined;
    throw unreadableFromErrno(file, errno, err);
  }
  try {
    const buffer = Buffer.alloc(ATTRIBUTE_BYTES_MAX + 1);
    // One read is how sysfs is meant to be read: the kernel fills the page in one show() call.
    // Regular files (fixtures) may return short reads, so keep reading until EOF or the limit.
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > ATTRIBUTE_BYTES_MAX) {
        throw sensorUnreadable(file, 'malformed', `longer than ${ATTRIBUTE_BYTES_MAX} bytes, not a sysfs attribute`);
      }
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch (err) {
    if (isMaxwellError(err)) throw err;
    throw unreadableFromErrno(file, errnoOf(err), err);
  } finally {
    await handle.close();
  }
}

function unreadableFromErrno(file: string, errno: string | undefined, err: unknown): MaxwellError {
  if (errno === 'EACCES' || errno === 'EPERM') {
    return sensorUnreadable(file, 'permission', 'permission denied', errno);
  }
  const why = err instanceof Error ? err.message : String(err);
  return sensorUnreadable(file, 'io', `cannot be read (${errno ?? 'error'}): ${why}`, errno);
}

/**
 * Whether a file exists, without reading it: RAPL's `energy_uj` is readable only by root on
 * current kernels, and its presence alone says the zone has an energy counter.
 */
export async function attributeExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    const errno = errnoOf(err);
    if (isAbsent(errno)) return false;
    throw unreadableFromErrno(file, errno, err);
  }
}

/** The attribute as one line of text (trailing newline removed), or `undefined` when absent. */
export async function readLine(file: string): Promise<string | undefined> {
  const text = await readAttribute(file);
  if (text === undefined) return undefined;
  const line = text.replace(/\n$/, '');
  if (line.includes('\n')) throw sensorUnreadable(file, 'malformed', 'expected one line');
  return line;
}

const INTEGER = /^-?[0-9]{1,20}$/;

/** A decimal integer attribute, or `undefined` when the file does not exist. */
export async function readInteger(file: string): Promise<bigint | undefined> {
  const line = await readLine(file);
  if (line === undefined) return undefined;
  const text = line.trim();
  if (!INTEGER.test(text)) {
    throw sensorUnreadable(file, 'malformed', `expected a decimal integer, found ${JSON.stringify(text.slice(0, 40))}`);
  }
  return BigInt(text);
}

/**
 * The names in `dir` that match `pattern`, in natural order (hwmon2 before hwmon10).
 * A directory that does not exist is an empty machine, not an error.
 */
export async function listEntries(dir: string, pattern: RegExp): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const errno = errnoOf(err);
    if (isAbsent(errno)) return [];
    throw unreadableFromErrno(dir, errno, err);
  }
  return names
    .filter((name) => pattern.test(name))
    .sort(naturalCompare)
    .slice(0, ENTRIES_MAX);
}

/** Compares names so that the numbers in them compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * Runs one read. Without a `problems` list, an unreadable sensor throws (the strict readers the
 * runtime uses). With one, the problem is recorded and the sensor is left out (discovery, which
 * must list everything else on the node even when one file is bad).
 */
export async function tolerate<T>(
  problems: SensorProblem[] | undefined,
  sensor: string,
  read: () => Promise<T>,
): Promise<T | undefined> {
  if (problems === undefined) return read();
  try {
    return await read();
  } catch (err) {
    if (!isMaxwellError(err, ErrorCode.SENSOR_UNREADABLE)) throw err;
    const file = typeof err.detail['file'] === 'string' ? err.detail['file'] : undefined;
    const problem: SensorProblem = { sensor, code: err.code, message: err.message };
    if (file !== undefined) problem.file = file;
    problems.push(problem);
    return undefined;
  }
}
