/**
 * The heat protocol's messages on the wire. Binary, big-endian, at most MAX_MESSAGE_BYTES (one
 * unfragmented UDP datagram on any Ethernet path); no JSON.
 *
 * THE MESSAGE FORMAT (version 1)
 *
 *   off len  field
 *     0   1  format     = 1
 *     1   1  type       1 PING, 2 ACK, 3 PING_REQ, 4 INDIRECT_ACK, 5 NACK, 6 CLAIMS
 *     2   4  cluster    the cluster tag (claim.ts, clusterTagOf); another cluster's → `wrong_cluster`
 *     6   4  seq        the prober's sequence number (PING, ACK, PING_REQ, INDIRECT_ACK, NACK); 0 in CLAIMS
 *    10   2  target     the member probed (PING_REQ, INDIRECT_ACK, NACK); 0xFFFF in the others
 *    12   1  adverts    a ≤ MAX_ADVERTS   (only PING and ACK carry adverts)
 *    13   1  wants      w ≤ MAX_WANTS
 *    14   1  rumours    r ≤ MAX_RUMOURS
 *    15   1  claims     c ≤ MAX_CLAIMS
 *    16      a × 10     advert:  member u16, version u64 (≤ 2^53 − 1; 0 = "I hold nothing for it")
 *            w × 2      want:    member u16 ("send me your claim of this member")
 *            r × 13     rumour:  kind u8 (1 suspect, 2 dead), subject u16, accuser u16, version u64
 *            c × 108    claim:   claim.ts
 *
 * The length is exactly 16 + 10a + 2w + 13r + 108c, and every member index is below the number
 * of members; otherwise the message is `malformed` and nothing in it is used.
 *
 * The sender is not in the message: the transport says who sent it (`from`), and a live
 * transport must authenticate that (libp2p's Noise channel does). Claims are signed because they
 * are relayed; adverts, wants, rumours and probes are only believed as far as their sender is.
 *
 * One exchange: A → B PING (A's adverts) ⇒ B → A ACK (B's adverts, what B wants of A's, the
 * claims A is behind on) ⇒ A → B CLAIMS (what B wanted, what B is behind on, what A wants) ⇒
 * B → A CLAIMS (what A wanted). CLAIMS carries no adverts, so an exchange ends by the fourth
 * message, and most end at the second (nothing to send).
 */
import { assert } from '../assert.js';
import { CLAIM_BYTES, NO_MEMBER, copyClaim, readU53, writeU53 } from './claim.js';

export const MESSAGE_FORMAT = 1;
export const MAX_MESSAGE_BYTES = 1400;
export const HEADER_BYTES = 16;
export const ADVERT_BYTES = 10;
export const WANT_BYTES = 2;
export const RUMOUR_BYTES = 13;
export const MAX_ADVERTS = 64;
export const MAX_WANTS = 64;
export const MAX_RUMOURS = 32;
export const MAX_CLAIMS = 12;
assert(HEADER_BYTES + MAX_CLAIMS * CLAIM_BYTES <= MAX_MESSAGE_BYTES, 'a message holds its most claims');

export const MessageType = {
  PING: 1,
  ACK: 2,
  PING_REQ: 3,
  INDIRECT_ACK: 4,
  NACK: 5,
  CLAIMS: 6,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const RumourKind = { SUSPECT: 1, DEAD: 2 } as const;
export type RumourKind = (typeof RumourKind)[keyof typeof RumourKind];

export const MessageFormat = {
  OK: 0,
  MALFORMED: 1,
  WRONG_CLUSTER: 2,
} as const;
export type MessageFormat = (typeof MessageFormat)[keyof typeof MessageFormat];

/** A parsed message: offsets into the received bytes, so that parsing allocates nothing but the view. */
export interface Parsed {
  view: DataView;
  bytes: Uint8Array;
  type: MessageType;
  seq: number;
  target: number;
  adverts: number;
  wants: number;
  rumours: number;
  claims: number;
  advertsAt: number;
  wantsAt: number;
  rumoursAt: number;
  claimsAt: number;
}

export function emptyParsed(): Parsed {
  return { view: new DataView(new ArrayBuffer(0)), bytes: new Uint8Array(0), type: MessageType.PING, seq: 0, target: 0, adverts: 0, wants: 0, rumours: 0, claims: 0, advertsAt: 0, wantsAt: 0, rumoursAt: 0, claimsAt: 0 };
}

/**
 * Checks a message's structure (not its claims' contents or signatures) and fills `out`.
 * `members` is the number of members: every index must be below it.
 */
export function parseMessage(bytes: Uint8Array, members: number, clusterTag: number, out: Parsed): MessageFormat {
  const len = bytes.length;
  if (len < HEADER_BYTES || len > MAX_MESSAGE_BYTES) return MessageFormat.MALFORMED;
  const v = new DataView(bytes.buffer, bytes.byteOffset, len);
  if (v.getUint8(0) !== MESSAGE_FORMAT) return MessageFormat.MALFORMED;
  const type = v.getUint8(1);
  if (type < MessageType.PING || type > MessageType.CLAIMS) return MessageFormat.MALFORMED;
  if (v.getUint32(2) !== clusterTag) return MessageFormat.WRONG_CLUSTER;
  const seq = v.getUint32(6);
  const target = v.getUint16(10);
  const probeOf = type === MessageType.PING_REQ || type === MessageType.INDIRECT_ACK || type === MessageType.NACK;
  if (probeOf ? target >= members : target !== NO_MEMBER) return MessageFormat.MALFORMED;
  if (type === MessageType.CLAIMS && seq !== 0) return MessageFormat.MALFORMED;
  const a = v.getUint8(12);
  const w = v.getUint8(13);
  const r = v.getUint8(14);
  const c = v.getUint8(15);
  if (a > MAX_ADVERTS || w > MAX_WANTS || r > MAX_RUMOURS || c > MAX_CLAIMS) return MessageFormat.MALFORMED;
  if (a > 0 && type !== MessageType.PING && type !== MessageType.ACK) return MessageFormat.MALFORMED;
  if (len !== HEADER_BYTES + a * ADVERT_BYTES + w * WANT_BYTES + r * RUMOUR_BYTES + c * CLAIM_BYTES) return MessageFormat.MALFORMED;
  let at = HEADER_BYTES;
  const advertsAt = at;
  for (let i = 0; i < a; i++, at += ADVERT_BYTES) {
    if (v.getUint16(at) >= members || Number.isNaN(readU53(v, at + 2))) return MessageFormat.MALFORMED;
  }
  const wantsAt = at;
  for (let i = 0; i < w; i++, at += WANT_BYTES) if (v.getUint16(at) >= members) return MessageFormat.MALFORMED;
  const rumoursAt = at;
  for (let i = 0; i < r; i++, at += RUMOUR_BYTES) {
    const kind = v.getUint8(at);
    if (kind !== RumourKind.SUSPECT && kind !== RumourKind.DEAD) return MessageFormat.MALFORMED;
    if (v.getUint16(at + 1) >= members || v.getUint16(at + 3) >= members) return MessageFormat.MALFORMED;
    if (Number.isNaN(readU53(v, at + 5))) return MessageFormat.MALFORMED;
  }
  out.view = v;
  out.bytes = bytes;
  out.type = type as MessageType;
  out.seq = seq;
  out.target = target;
  out.adverts = a;
  out.wants = w;
  out.rumours = r;
  out.claims = c;
  out.advertsAt = advertsAt;
  out.wantsAt = wantsAt;
  out.rumoursAt = rumoursAt;
  out.claimsAt = at;
  return MessageFormat.OK;
}

/** Finished messages are cut from blocks this big (at least one message of the largest size). */
const MESSAGE_BLOCK_BYTES = 64 * 1024;

const SECTION_ADVERTS = 0;
const SECTION_WANTS = 1;
const SECTION_RUMOURS = 2;
const SECTION_CLAIMS = 3;

/**
 * Builds one message at a time in a scratch buffer, sections in wire order; each add says
 * whether it fitted (its count limit and MAX_MESSAGE_BYTES), so a caller fills a message to its
 * budget and drops the rest. `finish` returns a copy the transport may keep: a view into a block
 * of messages that is never written again (a transport that wants the bytes alone uses
 * byteOffset and byteLength, not `.buffer`); `finish(true)` lends the scratch buffer instead, for
 * a transport that copies before it returns.
 */
export class MessageWriter {
  private readonly buf = new Uint8Array(MAX_MESSAGE_BYTES);
  private readonly view = new DataView(this.buf.buffer);
  private block = new Uint8Array(0);
  private blockAt = 0;
  private at = HEADER_BYTES;
  private section = SECTION_ADVERTS;
  private readonly counts = [0, 0, 0, 0];
  private open = false;

  begin(type: MessageType, clusterTag: number, seq: number, target: number): this {
    assert(!this.open, 'one message is built at a time');
    this.open = true;
    this.at = HEADER_BYTES;
    this.section = SECTION_ADVERTS;
    this.counts.fill(0);
    const v = this.view;
    v.setUint8(0, MESSAGE_FORMAT);
    v.setUint8(1, type);
    v.setUint32(2, clusterTag);
    v.setUint32(6, seq >>> 0);
    v.setUint16(10, target);
    return this;
  }

  get bytes(): number {
    return this.at;
  }

  private enter(section: number, size: number, limit: number): boolean {
    assert(this.open && section >= this.section, 'sections are written in wire order');
    this.section = section;
    return this.counts[section]! < limit && this.at + size <= MAX_MESSAGE_BYTES;
  }

  advert(member: number, version: number): boolean {
    if (!this.enter(SECTION_ADVERTS, ADVERT_BYTES, MAX_ADVERTS)) return false;
    this.view.setUint16(this.at, member);
    writeU53(this.view, this.at + 2, version);
    this.at += ADVERT_BYTES;
    this.counts[SECTION_ADVERTS]!++;
    return true;
  }

  want(member: number): boolean {
    if (!this.enter(SECTION_WANTS, WANT_BYTES, MAX_WANTS)) return false;
    this.view.setUint16(this.at, member);
    this.at += WANT_BYTES;
    this.counts[SECTION_WANTS]!++;
    return true;
  }

  rumour(kind: RumourKind, subject: number, accuser: number, version: number): boolean {
    if (!this.enter(SECTION_RUMOURS, RUMOUR_BYTES, MAX_RUMOURS)) return false;
    this.view.setUint8(this.at, kind);
    this.view.setUint16(this.at + 1, subject);
    this.view.setUint16(this.at + 3, accuser);
    writeU53(this.view, this.at + 5, version);
    this.at += RUMOUR_BYTES;
    this.counts[SECTION_RUMOURS]!++;
    return true;
  }

  claim(src: Uint8Array, off: number): boolean {
    if (!this.enter(SECTION_CLAIMS, CLAIM_BYTES, MAX_CLAIMS)) return false;
    copyClaim(src, off, this.buf, this.at);
    this.at += CLAIM_BYTES;
    this.counts[SECTION_CLAIMS]!++;
    return true;
  }

  /** Whether anything but the header was written. */
  get empty(): boolean {
    return this.at === HEADER_BYTES;
  }

  finish(lend = false): Uint8Array {
    assert(this.open, 'a message was begun');
    this.open = false;
    const v = this.view;
    v.setUint8(12, this.counts[SECTION_ADVERTS]!);
    v.setUint8(13, this.counts[SECTION_WANTS]!);
    v.setUint8(14, this.counts[SECTION_RUMOURS]!);
    v.setUint8(15, this.counts[SECTION_CLAIMS]!);
    const n = this.at;
    // Lent: the scratch buffer itself, valid until the next begin (for a transport that copies).
    if (lend) return this.buf.subarray(0, n);
    if (this.blockAt + n > this.block.length) {
      this.block = new Uint8Array(MESSAGE_BLOCK_BYTES);
      this.blockAt = 0;
    }
    // One small array per message is a buffer allocation each (~0.8 µs at a million messages a
    // minute); a view into a block of 64 KiB is a tenth of that. A block is freed when the last
    // message in it is.
    const out = this.block.subarray(this.blockAt, this.blockAt + n);
    out.set(this.buf.subarray(0, n));
    this.blockAt += n;
    return out;
  }

  /** Abandons the message being built (nothing worth sending). */
  abandon(): void {
    this.open = false;
  }
}
