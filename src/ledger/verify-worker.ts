/**
 * A thread of `verifyLedgerParallel`: walks one segment of the ledger file (verify.ts) on its
 * own read-only connection, reports progress, and posts its SegmentResult.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../assert.js';
import { SqliteStore } from './sqlite-store.js';
import { verifySegment, type SegmentRange } from './verify.js';

const { path, range } = workerData as { path: string; range: SegmentRange };
assert(parentPort !== null, 'verify-worker runs as a worker thread');
const port = parentPort;
const store = new SqliteStore(path, { readonly: true });
try {
  const genesis = store.genesis();
  assert(genesis !== undefined, 'the parent checked the genesis');
  port.postMessage({ result: verifySegment(store, genesis, range, (progress) => port.postMessage({ progress })) });
} finally {
  store.close();
}
