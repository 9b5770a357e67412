/**
 * The heat protocol: each node of a cluster tells the others how hot it is, hears how hot they
 * are, notices who has gone silent, and moves its price so that work flows away from heat, with
 * no central controller. A pure core: time, randomness, signing and the network are passed in,
 * so the same code runs under the seeded simulator (src/sim) and, later, over a real transport.
 *
 * What a node does (docs/heat.md has the whole protocol, its parameters and its weak points):
 *
 *  - claims (claim.ts): the node signs (member, version, issued, expires, temperature, power,
 *    headroom, price, heat, alarm) when its reading changes materially (a change that would move
 *    a neighbour's price), at most once per minClaimIntervalMs, and every refreshMs; an alarm or
 *    a refutation goes out at once. Claims expire after claimTtlMs;
 *  - dissemination, Scuttlebutt-style with SWIM's piggybacking: every gossipIntervalMs the node
 *    sends a PING carrying adverts (member, version) — its own, the recently changed ones (each
 *    sent a bounded number of times), and a rotating sweep over all members — never claims. The
 *    peer answers with the claims the node is behind on and asks for those it is behind on
 *    (message.ts). Bandwidth per node is constant: one PING and one ACK a round, each bounded;
 *  - an alarm spreads with priority: the dying node pushes its claim at once to alarmFanout
 *    random members and to its neighbours, and each member that accepts a new alarm pushes it on
 *    to alarmFanout more (an epidemic: ~log(n)/log(fanout) hops of network latency), while the
 *    adverts carry it, urgent, to whoever the pushes missed;
 *  - failure detection (membership.ts): the PING is also SWIM's probe (round-robin over the
 *    members); no ACK within probeTimeoutMs → PING_REQ to indirectProbes helpers; no ACK by
 *    suspectAfterMs → suspect, spread as a rumour; Lifeguard's dynamic suspicion timeout and
 *    local health; a suspect that hears of it refutes with a new claim;
 *  - the price response (price.ts): priceFactor rises with the node's own heat and falls when a
 *    live neighbour is hot or dying, damped and with hysteresis;
 *  - defences: a message from a non-member, from another cluster, or malformed is dropped whole;
 *    a message carrying a claim with a bad signature is dropped whole (an honest relay checks
 *    before it relays, so a forged claim convicts its sender); per-peer token buckets on messages
 *    and on claims to check; per-issuer bucket on accepted versions; a claim at or below the
 *    version held, expired, or from the future is ignored before its signature is checked.
 *
 * Cost (docs/heat.md, "Figures"): a signature check once per (member, version) per node; a tick
 * that is not due is one comparison; a round builds one PING of at most ~300 bytes.
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import {
  CLAIM_BYTES,
  ClaimFormat,
  FLAG_ALARM,
  FLAG_NO_READING,
  MAX_CLAIM_TTL_MS,
  MAX_MEMBERS,
  NO_MEMBER,
  PUBLIC_KEY_BYTES,
  clusterTagOf,
  emptyClaimFields,
  encodeClaim,
  readClaim,
  readU53,
  ClaimVerifier,
  copyClaim,
  type ClaimFields,
  type HeatCrypto,
  type HeatReading,
} from './claim.js';
import { MEMBER_STATE_NAMES, MemberState, Membership, SuspectOutcome, type MemberStateName } from './membership.js';
import { ADVERT_BYTES, MessageFormat, MessageType, MessageWriter, RUMOUR_BYTES, RumourKind, WANT_BYTES, emptyParsed, parseMessage, type Parsed } from './message.js';
import { HeatLatch, PriceResponse, checkPriceConfig } from './price.js';
import { AdvertRing, TransmitQueue, type Queued } from './queue.js';
import { BucketReduction, TokenBuckets } from './rate.js';

export { ed25519Crypto, type HeatCrypto, type HeatReading } from './claim.js';

export interface HeatTransport {
  /** Sends best-effort (may be lost, delayed, duplicated, reordered). Must not call back into the node synchronously. */
  send(to: string, bytes: Uint8Array): void;
  /**
   * True if send() copies the bytes before it returns. The node then lends its scratch buffer
   * (valid only during the call) instead of handing over a copy of its own: one copy a message
   * fewer, and the transport decides where its copies live (the simulator reuses its memory).
   */
  readonly copiesBytes?: boolean;
}

export interface HeatConfig {
  /** A round: one probe and one digest exchange. */
  gossipIntervalMs: number;
  /** Digests (PINGs) a round: the first is the probe, the others go to random live members. */
  fanout: number;
  /** How long a direct probe waits for its ACK before asking for indirect probes (scaled by local health). */
  probeTimeoutMs: number;
  /** Helpers asked to probe a silent member (SWIM's k). */
  indirectProbes: number;
  /** A probe not answered, directly or indirectly, by this long (scaled by local health) makes its target suspect. */
  suspectAfterMs: number;
  /** The shortest suspicion: a suspect confirmed by `confirmations` independent accusers is dead after this long. */
  deadAfterMs: number;
  /** A lone accuser's suspicion lasts deadAfterMs × this (Lifeguard). */
  suspicionMaxMult: number;
  /** Independent accusers that bring a suspicion down to deadAfterMs (Lifeguard's K). */
  confirmations: number;
  /** Ceiling of the local health multiplier (Lifeguard). */
  healthMax: number;
  /** How long a claim lives. */
  claimTtlMs: number;
  /** A node re-issues its claim at least this often, changed or not. */
  refreshMs: number;
  /** And at most this often, unless its alarm changes or it must refute a suspicion. */
  minClaimIntervalMs: number;
  /** A claim issued further than this into the receiver's future is refused (`future`). */
  maxClockSkewMs: number;
  /** Per peer: claims it sends that need a signature check, a second (a burst of twice this). */
  maxClaimsPerPeerPerS: number;
  /** Per peer: messages a second (a burst of twice this). */
  maxMessagesPerPeerPerS: number;
  /** Per issuer: new versions accepted a minute (a burst of a third of this). */
  maxVersionsPerMemberPerMin: number;
  /** Members a new alarm is pushed to, by its issuer and by each member that accepts it. */
  alarmFanout: number;
  /** Neighbours a node pushes each of its claims to (when the caller names its neighbours). */
  maxPushTargets: number;
  /** Recently changed adverts in one PING or ACK. */
  maxAdvertsPerMessage: number;
  /** Adverts of the rotating sweep in one PING (anti-entropy: every member is offered every ⌈n/sweep⌉ rounds). */
  sweepPerMessage: number;
  /** Claims in one reply. */
  maxClaimsPerMessage: number;
  /**
   * Claims a node sends a second in gossip replies (a burst of twice this): Scuttlebutt's flow
   * control, the bound on its bandwidth when many claims are new at once (a cluster starting, a
   * heat wave). Alarm pushes and pushes of its own claims to its neighbours are outside it.
   */
  maxClaimsSentPerS: number;
  /** Rumours (suspect, dead) in one message. */
  maxRumoursPerMessage: number;
  /** A changed version is advertised ⌈advertTransmitMult·log10(n + 1)⌉ times (twice that if urgent). */
  advertTransmitMult: number;
  /** A rumour is sent ⌈rumourTransmitMult·log10(n + 1)⌉ times (SWIM's λ log n). */
  rumourTransmitMult: number;
  /** Heat latches on at this temperature (°C). */
  hotC: number;
  /** Heat is 1, and the node raises its alarm by itself, at this temperature (°C). */
  dyingC: number;
  /** Hysteresis below hotC (unlatch) and below dyingC (a temperature alarm clears) (°C). */
  hysteresisC: number;
  /** priceFactor's ceiling is 1 + raiseMax (own heat 1). */
  raiseMax: number;
  /** priceFactor's floor is 1 − lowerMax (a neighbour dying, this node cool). */
  lowerMax: number;
  /** The price lag's time constant. */
  priceTauMs: number;
  /** The lag's time constant while an alarm is in play. */
  alarmTauMs: number;
  /** priceFactor changes only by more than this fraction (hysteresis on the output). */
  priceDeadband: number;
  /** A change of own heat by this much is material (re-issue the claim). */
  materialHeat: number;
  /** So is a change of temperature by this much (°C). */
  materialTempC: number;
  /** And a relative change of power, headroom or price by this fraction. */
  materialFraction: number;
}

export const DEFAULT_HEAT_CONFIG: Readonly<HeatConfig> = Object.freeze({
  gossipIntervalMs: 2000,
  fanout: 1,
  probeTimeoutMs: 500,
  indirectProbes: 3,
  suspectAfterMs: 2000,
  deadAfterMs: 20_000,
  suspicionMaxMult: 4,
  confirmations: 3,
  healthMax: 8,
  claimTtlMs: 90 * 60_000,
  refreshMs: 30 * 60_000,
  minClaimIntervalMs: 15_000,
  maxClockSkewMs: 60_000,
  maxClaimsPerPeerPerS: 32,
  maxMessagesPerPeerPerS: 20,
  maxVersionsPerMemberPerMin: 12,
  alarmFanout: 6,
  maxPushTargets: 16,
  maxAdvertsPerMessage: 8,
  sweepPerMessage: 4,
  maxClaimsPerMessage: 4,
  maxClaimsSentPerS: 2,
  maxRumoursPerMessage: 8,
  advertTransmitMult: 2,
  rumourTransmitMult: 4,
  hotC: 80,
  dyingC: 95,
  hysteresisC: 3,
  raiseMax: 3,
  lowerMax: 0.5,
  priceTauMs: 5000,
  alarmTauMs: 500,
  priceDeadband: 0.02,
  materialHeat: 0.1,
  materialTempC: 10,
  materialFraction: 0.5,
});

/** What became of a received message. Bad input is an outcome, never a throw. */
export const ReceiveOutcome = {
  /** Processed: a probe or exchange message (PING, ACK, …, whatever its claims), or a CLAIMS message with at least one new claim. */
  ACCEPTED: 'accepted',
  /** (A CLAIMS message, as the next three.) Its claims were all held already, at that version. */
  DUPLICATE: 'duplicate',
  /** A claim older than the one held. */
  REPLAYED: 'replayed',
  /** A claim past its expiry. */
  STALE: 'stale',
  /** A claim issued further into the future than maxClockSkewMs. */
  FUTURE: 'future',
  /** A claim whose signature does not verify: the whole message is dropped. */
  FORGED: 'forged',
  /** The sender, or a claim's issuer, is not a member. */
  UNKNOWN_MEMBER: 'unknown_member',
  /** The message is for another member list (cluster tag). */
  WRONG_CLUSTER: 'wrong_cluster',
  /** The sender (messages or claims to check) or a claim's issuer (versions) is over its rate. */
  RATE_LIMITED: 'rate_limited',
  /** Not a message of this format, or past a limit. */
  MALFORMED: 'malformed',
  /** The node is stopped. */
  STOPPED: 'stopped',
} as const;
export type ReceiveOutcome = (typeof ReceiveOutcome)[keyof typeof ReceiveOutcome];

export interface HeatComponents {
  id: string;
  publicKey: Uint8Array;
  crypto: HeatCrypto;
  /** The cluster: member id → raw 32-byte Ed25519 public key. Every node must hold the same list. */
  members: ReadonlyMap<string, Uint8Array>;
  transport: HeatTransport;
  /** Uniform in [0, 1). */
  random: () => number;
  /** The members whose heat moves this node's price (rack adjacency). Default: every member. */
  neighbours?: ReadonlySet<string>;
}

export interface PeerView {
  state: MemberStateName;
  /** From its newest unexpired claim; undefined if none. */
  tempC?: number;
  /** Its heat ∈ [0, 1] from that claim. */
  heat?: number;
  powerW?: number;
  headroomW?: number;
  price?: number;
  alarm: boolean;
  /** The version of its newest claim held (0: none). */
  version: number;
  expiresMs?: number;
}

export interface HeatStats {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  claimsIssued: number;
  claimsAccepted: number;
  /** Signature checks made (each a crypto.verify call). */
  verifies: number;
  /** Suspicions this node raised from its own probes. */
  suspicions: number;
  /** Members this node came to hold dead (its own timer, or a rumour). */
  deaths: number;
  /** Times this node refuted a suspicion or death of itself. */
  refutations: number;
  /** Per outcome: refused messages, and refused claims within accepted messages (duplicates included). */
  rejected: Record<string, number>;
}

interface Advert extends Queued {
  version: number;
}

interface Rumour extends Queued {
  kind: RumourKind;
  subject: number;
  accuser: number;
  version: number;
}

interface Probe {
  seq: number;
  target: number;
  startMs: number;
  indirectAtMs: number;
  deadlineMs: number;
  indirectSent: boolean;
  nacksExpected: number;
  nacks: number;
  /** The helpers asked (PING_REQ); each one's NACK counts once, and nobody else's. */
  helpers: number[];
}

interface Relay {
  seq: number;
  requester: number;
  requesterSeq: number;
  target: number;
  /** Lifeguard: tell the requester "I tried, no answer yet" before its own timer runs out, */
  nackAtMs: number;
  nacked: boolean;
  /** but keep listening: a slow target's late ACK is still relayed, until the requester would have given up. */
  deadlineMs: number;
}

const AlarmReason = { NONE: 0, TEMPERATURE: 1, EXPLICIT: 2 } as const;
type AlarmReason = (typeof AlarmReason)[keyof typeof AlarmReason];

/** Outstanding probes and relays are bounded; more are refused. */
const MAX_PROBES = 8;
const MAX_RELAYS = 32;
const QUEUE_CAPACITY = 256;
const URGENT_CAPACITY = 32;
/** An advert heard back from this many peers at the same version has spread: stop sending it (Demers' feedback). */
const HEARD_LIMIT = 3;
const RUMOUR_DEAD_KEY = 0xffff;
/** A member's record (HeatNode.rec): its fields and its size. */
const R_VERSION = 0;
const R_EXPIRES = 1;
const R_WANTED = 2;
const R_FLAGS = 3;
const REC = 4;
/** The highest own version this node will take on (issue() adds 1 and must stay a safe integer). */
const MAX_VERSION = Number.MAX_SAFE_INTEGER - 1;
/** The latest time a node takes: a claim issued then still expires at a safe integer. */
const MAX_NOW_MS = Number.MAX_SAFE_INTEGER - MAX_CLAIM_TTL_MS - 1;
/** A late answer to a failed probe counts within this many of its longest possible deadlines. */
const LATE_ANSWER_MAX_DEADLINES = 4;
const CLAIM_PASS = 0;
/** Wants, pushes and refutations of one message: at most its adverts and rumours. */
const MAX_LIST = 128;

export class HeatNode {
  readonly stats: HeatStats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0, claimsIssued: 0, claimsAccepted: 0, verifies: 0, suspicions: 0, deaths: 0, refutations: 0, rejected: {} };

  private readonly cfg: HeatConfig;
  private readonly n: number;
  private readonly self: number;
  private readonly ids: string[];
  private readonly keys: Uint8Array[];
  private readonly indexOf: ReadonlyMap<string, number>;
  private readonly tag: number;
  private readonly verifier: ClaimVerifier;
  private readonly crypto: HeatCrypto;
  private readonly transport: HeatTransport;
  /** The transport copies what it is sent: finished messages are lent, not copied (HeatTransport.copiesBytes). */
  private readonly lendBytes: boolean;
  private readonly random: () => number;

  // What this node holds of each member (its own entry included).
  /**
   * Per member, one record of REC numbers: its claim's version and expiry, when it was last
   * wanted, its claim's flags. Together, not in four arrays: at a thousand members a message
   * touches a dozen of them, and each record is then one cache miss, not four.
   */
  private readonly rec: Float64Array;
  private readonly tempC: Float32Array;
  private readonly heat: Float32Array;
  private readonly claims: Uint8Array;
  /** When each member last used the refutation exemption from the version limit (judgeClaim). */
  private readonly refuteExemptAtMs: Float64Array;

  private readonly membership: Membership;
  private readonly messageBuckets: TokenBuckets;
  private readonly claimBuckets: TokenBuckets;
  private readonly versionBuckets: TokenBuckets;
  private readonly adverts: AdvertRing;
  private readonly urgentAdverts = new TransmitQueue<Advert>(URGENT_CAPACITY);
  private readonly sendBudget: TokenBuckets;
  private readonly rumours = new TransmitQueue<Rumour>(QUEUE_CAPACITY);
  private readonly advertLimit: number;
  private readonly rumourLimit: number;
  private readonly probes: Probe[] = [];
  /** The last probes that failed (sequence number, start): an answer to one arrives late, so the fault was here. */
  private readonly failedSeqs = new Uint32Array(16);
  private readonly failedStartMs = new Float64Array(16);
  private readonly failedTarget = new Int32Array(16);
  private failedAt = 0;
  /** This node's round-trip estimate to the members it probes (TCP's SRTT and RTTVAR, RFC 6298); 0 before any. */
  private srttMs = 0;
  private rttvarMs = 0;
  private readonly relays: Relay[] = [];
  private seq = 0;
  private readonly order: Int32Array;
  private orderAt = 0;
  private sweepAt = 0;
  private reprobe = -1;

  // Neighbours and the price response.
  private readonly isNeighbour: Uint8Array;
  private readonly pushTargets: number[] = [];
  private readonly hotNeighbours = new Set<number>();
  private readonly latch: HeatLatch;
  private readonly price: PriceResponse;

  // This node's own reading and claim.
  private reading: HeatReading | undefined;
  private ownHeat = 0;
  private alarmReason: AlarmReason = AlarmReason.NONE;
  private lastIssuedMs = Number.NEGATIVE_INFINITY;
  private pendingClaim = false;
  private lastRefuteMs = Number.NEGATIVE_INFINITY;
  private refutePending = false;
  private refuteAtLeast = 0;
  private readonly claimed: ClaimFields = emptyClaimFields();

  private nextRoundMs: number;
  private nextDueMs = Number.NEGATIVE_INFINITY;
  private nowMs = Number.NEGATIVE_INFINITY;
  private running = true;

  // Scratch, reused by every receive: nothing per message is allocated but the reply.
  private readonly writer = new MessageWriter();
  private readonly parsed: Parsed = emptyParsed();
  private readonly fields: ClaimFields = emptyClaimFields();
  private readonly claimVerdict = new Int8Array(16);
  private readonly wants = new IndexList(MAX_LIST);
  private readonly pushes = new IndexList(MAX_LIST);
  /** Claims that refute a rumour the peer sent (it is behind on them): sent first, outside the budget. */
  private readonly refuting = new IndexList(MAX_LIST);
  /** Per member, the version this node spread urgently (a new alarm, a refutation): such a claim is pushed outside the budget. */
  private readonly urgentVersion: Float64Array;
  // Callbacks for the queues, made once (not a closure per message).
  private readonly sendUrgentAdvert = (e: Advert): boolean => e.key === this.self || this.writer.advert(e.key, e.version);
  private readonly sendAdvert = (m: number, version: number): boolean => m === this.self || this.writer.advert(m, version);
  private readonly sendRumour = (r: Rumour): boolean => this.writer.rumour(r.kind, r.subject, r.accuser, r.version);
  private neighbourHeatNow = 0;
  private neighbourAlarmNow = false;
  private readonly died: number[] = [];

  constructor(components: HeatComponents, init: Partial<HeatConfig> = {}) {
    const cfg = { ...DEFAULT_HEAT_CONFIG, ...init };
    checkConfig(cfg);
    this.cfg = cfg;
    const { id, publicKey, members } = components;
    if (members.size < 1 || members.size > MAX_MEMBERS) throw bad(`a cluster has 1 to ${MAX_MEMBERS} members, not ${members.size}`);
    const list = memberList(members);
    this.ids = list.ids;
    this.keys = list.keys;
    this.indexOf = list.indexOf;
    const self = this.indexOf.get(id);
    if (self === undefined) throw bad(`this node (${id}) is not a member of its cluster`);
    if (!equalBytes(members.get(id)!, publicKey)) throw bad(`this node's public key is not the one its cluster lists for ${id}`);
    this.self = self;
    this.n = this.ids.length;
    this.tag = list.tag;
    this.verifier = new ClaimVerifier(this.tag);
    this.crypto = components.crypto;
    this.transport = components.transport;
    this.lendBytes = components.transport.copiesBytes === true;
    this.random = components.random;

    const n = this.n;
    this.rec = new Float64Array(n * REC);
    for (let m = 0; m < n; m++) this.rec[m * REC + R_WANTED] = Number.NEGATIVE_INFINITY;
    this.tempC = new Float32Array(n);
    this.heat = new Float32Array(n);
    this.claims = new Uint8Array(n * CLAIM_BYTES);
    this.refuteExemptAtMs = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    this.urgentVersion = new Float64Array(n);
    this.membership = new Membership(n, self, cfg);
    this.messageBuckets = new TokenBuckets(n, 2 * cfg.maxMessagesPerPeerPerS, cfg.maxMessagesPerPeerPerS);
    this.claimBuckets = new TokenBuckets(n, 2 * cfg.maxClaimsPerPeerPerS, cfg.maxClaimsPerPeerPerS);
    this.versionBuckets = new TokenBuckets(n, Math.max(2, Math.ceil(cfg.maxVersionsPerMemberPerMin / 3)), cfg.maxVersionsPerMemberPerMin / 60);
    const log = Math.log10(n + 1);
    this.advertLimit = Math.max(2, Math.ceil(cfg.advertTransmitMult * log));
    this.rumourLimit = Math.max(3, Math.ceil(cfg.rumourTransmitMult * log));
    assert(2 * this.advertLimit <= 255 && this.rumourLimit <= 255, 'transmit limits fit a byte');
    this.adverts = new AdvertRing(QUEUE_CAPACITY, n, HEARD_LIMIT);
    this.sendBudget = new TokenBuckets(1, 2 * cfg.maxClaimsSentPerS, cfg.maxClaimsSentPerS);

    this.order = new Int32Array(n - 1);
    for (let i = 0, j = 0; i < n; i++) if (i !== self) this.order[j++] = i;
    this.shuffleOrder();
    this.sweepAt = this.pick(n);

    this.isNeighbour = new Uint8Array(n);
    if (components.neighbours === undefined) {
      this.isNeighbour.fill(1);
    } else {
      for (const m of components.neighbours) {
        const i = this.indexOf.get(m);
        if (i === undefined) throw bad(`neighbour ${m} is not a member of the cluster`);
        if (i !== self) this.isNeighbour[i] = 1;
      }
      const all = [...this.isNeighbour.keys()].filter((i) => this.isNeighbour[i] === 1);
      for (let k = all.length - 1; k > 0; k--) {
        const j = this.pick(k + 1);
        [all[k], all[j]] = [all[j]!, all[k]!];
      }
      this.pushTargets.push(...all.slice(0, cfg.maxPushTargets));
    }
    this.isNeighbour[self] = 0;
    this.latch = new HeatLatch(cfg);
    this.price = new PriceResponse(cfg);
    // Nodes must not gossip in lockstep: the first round is at a random point of the first interval.
    this.nextRoundMs = Number.NaN;
  }

  /** Resumes a stopped node (a new node is started). */
  start(): void {
    this.running = true;
    this.nextDueMs = Number.NEGATIVE_INFINITY;
  }

  /** Stops: ticks do nothing and messages are refused (`stopped`); outstanding probes are forgotten. */
  stop(): void {
    this.running = false;
    this.nextDueMs = Number.POSITIVE_INFINITY;
    this.probes.length = 0;
    this.relays.length = 0;
  }

  get id(): string {
    return this.ids[this.self]!;
  }

  /**
   * When tick next has something to do: a caller may sleep until then (tick is also cheap to call
   * early). Before the first tick it is -Infinity (tick now); after a tick it is always later than
   * that tick's time; +Infinity while stopped. A receive or observe may make it earlier.
   */
  nextTickMs(): number {
    return this.nextDueMs;
  }

  /** Lifeguard's local health multiplier (0 = healthy). */
  get health(): number {
    return this.membership.health;
  }

  // ---------------------------------------------------------------- the node's own heat

  observe(r: HeatReading, nowMs: number): void {
    const now = this.clock(nowMs);
    // Called every second by every node of a simulated cluster: no arrays, no new objects.
    checkReading(r.tempC, 'tempC');
    checkReading(r.powerW, 'powerW');
    checkReading(r.headroomW, 'headroomW');
    checkReading(r.price, 'price');
    const own = (this.reading ??= { tempC: 0, powerW: 0, headroomW: 0, price: 0 });
    own.tempC = r.tempC;
    own.powerW = Math.max(0, r.powerW);
    own.headroomW = Math.max(0, r.headroomW);
    own.price = Math.max(0, r.price);
    const heat = this.latch.update(r.tempC);
    let alarmChanged = false;
    if (this.alarmReason === AlarmReason.NONE && r.tempC >= this.cfg.dyingC) {
      this.alarmReason = AlarmReason.TEMPERATURE;
      alarmChanged = true;
    } else if (this.alarmReason === AlarmReason.TEMPERATURE && r.tempC <= this.cfg.dyingC - this.cfg.hysteresisC) {
      this.alarmReason = AlarmReason.NONE;
      alarmChanged = true;
    }
    this.ownHeat = this.alarmReason !== AlarmReason.NONE ? 1 : heat;
    this.updatePrice(now);
    if (alarmChanged || this.rec[this.self * REC + R_VERSION] === 0 || (this.rec[this.self * REC + R_FLAGS]! & FLAG_NO_READING) !== 0) this.issue(now);
    else if (this.material()) {
      if (now >= this.lastIssuedMs + this.cfg.minClaimIntervalMs) this.issue(now);
      else {
        this.pendingClaim = true;
        this.due(this.lastIssuedMs + this.cfg.minClaimIntervalMs);
      }
    }
  }

  /** "I am dying": the alarm goes out at once and stays raised until clearAlarm. */
  alarm(nowMs: number): void {
    const now = this.clock(nowMs);
    if (this.alarmReason === AlarmReason.EXPLICIT) return;
    const wasRaised = this.alarmReason !== AlarmReason.NONE;
    this.alarmReason = AlarmReason.EXPLICIT;
    this.ownHeat = 1;
    this.updatePrice(now);
    if (!wasRaised) this.issue(now);
  }

  clearAlarm(nowMs: number): void {
    const now = this.clock(nowMs);
    if (this.alarmReason === AlarmReason.NONE) return;
    this.alarmReason = AlarmReason.NONE;
    this.ownHeat = this.reading === undefined ? 0 : this.latch.update(this.reading.tempC);
    this.updatePrice(now);
    this.issue(now);
  }

  get alarmed(): boolean {
    return this.alarmReason !== AlarmReason.NONE;
  }

  /** Multiply the node's reserve price by this: in [1 − lowerMax, 1 + raiseMax]. */
  priceFactor(nowMs: number): number {
    const now = this.clock(nowMs);
    this.updatePrice(now);
    return this.price.factor(now);
  }

  // ---------------------------------------------------------------- what the node knows

  /** What this node holds of a member's liveness: `peer(id).state` without building the view (for pollers). */
  memberState(id: string): MemberStateName | undefined {
    const i = this.indexOf.get(id);
    if (i === undefined) return undefined;
    return i === this.self ? 'alive' : MEMBER_STATE_NAMES[this.membership.state[i]!]!;
  }

  peer(id: string): PeerView | undefined {
    const i = this.indexOf.get(id);
    if (i === undefined) return undefined;
    if (i === this.self) {
      const r = this.reading;
      return { state: 'alive', alarm: this.alarmed, version: this.rec[i * REC + R_VERSION]!, heat: this.ownHeat, ...(r ? { tempC: r.tempC, powerW: r.powerW, headroomW: r.headroomW, price: r.price } : {}) };
    }
    const view: PeerView = { state: MEMBER_STATE_NAMES[this.membership.state[i]!]!, alarm: false, version: this.rec[i * REC + R_VERSION]! };
    if (this.rec[i * REC + R_VERSION]! > 0 && this.rec[i * REC + R_EXPIRES]! > this.nowMs) {
      view.alarm = (this.rec[i * REC + R_FLAGS]! & FLAG_ALARM) !== 0;
      view.heat = this.heat[i]!;
      view.expiresMs = this.rec[i * REC + R_EXPIRES]!;
      if ((this.rec[i * REC + R_FLAGS]! & FLAG_NO_READING) === 0) {
        const v = new DataView(this.claims.buffer, i * CLAIM_BYTES, CLAIM_BYTES);
        view.tempC = this.tempC[i]!;
        view.powerW = v.getUint32(30) / 1000;
        view.headroomW = v.getUint32(34) / 1000;
        view.price = v.getFloat32(38);
      }
    }
    return view;
  }

  /** Every member's id, in index order. */
  get members(): readonly string[] {
    return this.ids;
  }

  // ---------------------------------------------------------------- time

  tick(nowMs: number): void {
    const now = this.clock(nowMs);
    if (!this.running || now < this.nextDueMs) return;
    const cfg = this.cfg;
    if (Number.isNaN(this.nextRoundMs)) this.nextRoundMs = now + this.random() * cfg.gossipIntervalMs;

    if (this.refutePending && now >= this.lastRefuteMs + cfg.gossipIntervalMs) this.refute(this.refuteAtLeast, now);
    // Refreshed with or without a reading: an alarm raised by hand on a node with no sensor must
    // not expire while it is still raised.
    if (this.rec[this.self * REC + R_VERSION]! > 0 || this.pendingClaim) {
      if (now >= this.lastIssuedMs + cfg.refreshMs || (this.pendingClaim && now >= this.lastIssuedMs + cfg.minClaimIntervalMs)) this.issue(now);
    }

    for (let i = 0; i < this.probes.length; ) {
      const p = this.probes[i]!;
      if (!p.indirectSent && now >= p.indirectAtMs && now < p.deadlineMs) this.probeIndirectly(p);
      if (now >= p.deadlineMs) {
        this.probes[i] = this.probes[this.probes.length - 1]!;
        this.probes.pop();
        this.probeFailed(p, now);
      } else i++;
    }
    for (let i = 0; i < this.relays.length; ) {
      const r = this.relays[i]!;
      if (!r.nacked && now >= r.nackAtMs) {
        r.nacked = true;
        this.sendSmall(MessageType.NACK, r.requester, r.requesterSeq, r.target);
      }
      if (now >= r.deadlineMs) {
        this.relays[i] = this.relays[this.relays.length - 1]!;
        this.relays.pop();
      } else i++;
    }
    const died = this.died;
    died.length = 0;
    this.membership.expire(now, died);
    for (const d of died) this.diedNow(d, this.membership.atVersion[d]!);

    if (now >= this.nextRoundMs) {
      this.round(now);
      this.nextRoundMs += cfg.gossipIntervalMs;
      if (this.nextRoundMs <= now) this.nextRoundMs = now + cfg.gossipIntervalMs;
    }
    // The price is advanced here only when a hot neighbour's claim has run out: every other event
    // that changes its target advances it first (observe, a hot neighbour's claim or death), and
    // priceFactor advances it when read.
    for (const m of this.hotNeighbours) {
      if (this.rec[m * REC + R_EXPIRES]! <= now) {
        this.updatePrice(now);
        break;
      }
    }
    this.nextDueMs = this.computeNextDue();
    assert(this.nextDueMs > now, 'a tick leaves nothing due at its own time');
  }

  private computeNextDue(): number {
    let t = this.nextRoundMs;
    for (const p of this.probes) t = Math.min(t, p.indirectSent ? p.deadlineMs : p.indirectAtMs);
    for (const r of this.relays) t = Math.min(t, r.nacked ? r.deadlineMs : r.nackAtMs);
    t = Math.min(t, this.membership.nextDeadlineMs());
    if (this.refutePending) t = Math.min(t, this.lastRefuteMs + this.cfg.gossipIntervalMs);
    if (this.rec[this.self * REC + R_VERSION]! > 0 || this.pendingClaim) {
      t = Math.min(t, this.lastIssuedMs + this.cfg.refreshMs);
      if (this.pendingClaim) t = Math.min(t, this.lastIssuedMs + this.cfg.minClaimIntervalMs);
    }
    // A hot neighbour's claim running out changes the price's target: an event of its own, so
    // that the factor does not depend on how often it is read.
    for (const m of this.hotNeighbours) t = Math.min(t, this.rec[m * REC + R_EXPIRES]!);
    return t;
  }

  private due(t: number): void {
    // A stopped node has nothing due (start() makes the next tick run at once).
    if (this.running && t < this.nextDueMs) this.nextDueMs = t;
  }

  private clock(nowMs: number): number {
    // The bound keeps every claim's expiry (now + TTL ≤ now + 24 h) a safe integer.
    if (typeof nowMs !== 'number' || !(nowMs >= 0 && nowMs <= MAX_NOW_MS)) throw bad(`a time is a number of ms from 0 to ${MAX_NOW_MS}, not ${String(nowMs)}`);
    // Time passed in must not run backwards; if it does, it is treated as standing still.
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    return this.nowMs;
  }

  // ---------------------------------------------------------------- rounds and probes

  private shuffleOrder(): void {
    const o = this.order;
    for (let k = o.length - 1; k > 0; k--) {
      const j = this.pick(k + 1);
      const t = o[k]!;
      o[k] = o[j]!;
      o[j] = t;
    }
  }

  private nextProbeTarget(): number {
    if (this.reprobe >= 0) {
      const t = this.reprobe;
      this.reprobe = -1;
      return t;
    }
    if (this.orderAt >= this.order.length) {
      this.orderAt = 0;
      this.shuffleOrder();
    }
    return this.order[this.orderAt++]!;
  }

  /** A uniform integer in [0, k): safe even if the random source returns 1. */
  private pick(k: number): number {
    const i = Math.floor(this.random() * k);
    return i >= k ? k - 1 : i < 0 ? 0 : i;
  }

  /** A random member other than this node and the two excluded, alive or suspect; -1 if none. */
  private randomMember(ex1: number, ex2: number): number {
    const n = this.n;
    for (let tries = 0; tries < 8; tries++) {
      const i = this.pick(n);
      if (i !== this.self && i !== ex1 && i !== ex2 && this.membership.state[i] !== MemberState.DEAD) return i;
    }
    const start = this.pick(n);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (i !== this.self && i !== ex1 && i !== ex2 && this.membership.state[i] !== MemberState.DEAD) return i;
    }
    return -1;
  }

  private round(now: number): void {
    if (this.n === 1) return;
    const cfg = this.cfg;
    const target = this.nextProbeTarget();
    const seq = this.nextSeq();
    // A dead member is still pinged in its turn (so that one that comes back hears it was
    // declared dead and refutes), but not probed: its silence says nothing new.
    if (this.membership.state[target] !== MemberState.DEAD && this.probes.length < MAX_PROBES) {
      const m = this.membership;
      // The timeouts stretch with this node's own measured round trip (a slow node waits longer
      // before it blames anyone) and with its local health (Lifeguard).
      const rto = this.srttMs + 4 * this.rttvarMs;
      const indirect = Math.max(cfg.probeTimeoutMs, rto);
      const deadline = Math.max(cfg.suspectAfterMs, indirect + rto + cfg.probeTimeoutMs);
      this.probes.push({ seq, target, startMs: now, indirectAtMs: now + m.scaled(indirect), deadlineMs: now + m.scaled(deadline), indirectSent: false, nacksExpected: 0, nacks: 0, helpers: [] });
    }
    this.sendPing(target, seq);
    for (let k = 1; k < cfg.fanout; k++) {
      const t = this.randomMember(target, -1);
      if (t < 0) break;
      this.sendPing(t, this.nextSeq());
    }
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  private probeIndirectly(p: Probe): void {
    p.indirectSent = true;
    for (let k = 0; k < this.cfg.indirectProbes; k++) {
      const h = this.randomMember(p.target, -1);
      if (h < 0) break;
      this.sendSmall(MessageType.PING_REQ, h, p.seq, p.target);
      p.helpers.push(h);
      p.nacksExpected++;
    }
  }

  private probeFailed(p: Probe, now: number): void {
    const m = this.membership;
    this.failedSeqs[this.failedAt] = p.seq;
    this.failedStartMs[this.failedAt] = p.startMs;
    this.failedTarget[this.failedAt] = p.target;
    this.failedAt = (this.failedAt + 1) % this.failedSeqs.length;
    // Lifeguard: helpers that do not even answer (nack) mean the fault is likely here.
    m.probeFailed(p.nacksExpected > 0 ? p.nacksExpected - Math.min(p.nacks, p.nacksExpected) : 1);
    if (m.state[p.target] === MemberState.DEAD || m.unhealthy) return;
    // A new suspicion, or this node's own confirmation of a suspicion it heard of: an
    // independent accuser, which shortens everyone's timer (Lifeguard).
    const o = m.suspect(p.target, this.rec[p.target * REC + R_VERSION]!, this.self, now);
    if (o === SuspectOutcome.IGNORED) return;
    this.stats.suspicions++;
    this.spreadRumour(RumourKind.SUSPECT, p.target, this.self, this.rec[p.target * REC + R_VERSION]!);
    if (o === SuspectOutcome.STARTED) {
      this.onStateChange(p.target, now);
      // Lifeguard's buddy system: probe the suspect again at once, telling it it is suspected.
      this.reprobe = p.target;
    }
  }

  /** An ACK (direct: `direct`) or INDIRECT_ACK answered probe `seq` of `target`. */
  private probeAnswered(seq: number, target: number, now: number, direct: boolean): void {
    const ps = this.probes;
    // One step past Lifeguard: an answer to a probe that already failed means the target was
    // alive and this node too slow to hear it in time. Its health worsens, and its round-trip
    // estimate learns the truth, so that a slow node does not go on accusing live members.
    // Only the probed member's own answer counts (anyone can echo a seq), and only within a few
    // deadlines: a replayed ACK an hour late must not teach the node an hour-long round trip.
    const late = seq === 0 ? -1 : this.failedSeqs.indexOf(seq);
    if (late >= 0 && this.failedTarget[late] === target) {
      this.failedSeqs[late] = 0;
      const sampleMs = now - this.failedStartMs[late]!;
      if (sampleMs > LATE_ANSWER_MAX_DEADLINES * this.cfg.suspectAfterMs * (1 + this.cfg.healthMax)) return;
      this.membership.probeFailed(1);
      if (direct) this.sampleRtt(sampleMs);
      return;
    }
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      if (p.seq === seq && p.target === target) {
        ps[i] = ps[ps.length - 1]!;
        ps.pop();
        if (direct) this.sampleRtt(now - p.startMs);
        this.membership.probeAnswered();
        // The probe's timers are moot: the next tick can wait for the next thing due.
        this.nextDueMs = this.computeNextDue();
        return;
      }
    }
  }

  private sampleRtt(sampleMs: number): void {
    // Clamped, as TCP clamps its RTO: past suspectAfterMs a member is suspected whatever the estimate says.
    sampleMs = Math.min(sampleMs, this.cfg.suspectAfterMs);
    if (this.srttMs === 0) {
      this.srttMs = sampleMs;
      this.rttvarMs = sampleMs / 2;
    } else {
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - sampleMs);
      this.srttMs = 0.875 * this.srttMs + 0.125 * sampleMs;
    }
  }

  /** This node's smoothed round trip to the members it probes (ms; 0 before any answer). */
  get rttMs(): number {
    return this.srttMs;
  }

  // ---------------------------------------------------------------- claims

  private material(): boolean {
    const r = this.reading!;
    const c = this.claimed;
    const cfg = this.cfg;
    if ((c.heat === 0) !== (this.ownHeat === 0) || Math.abs(this.ownHeat - c.heat) >= cfg.materialHeat) return true;
    if (Math.abs(r.tempC - c.tempC) >= cfg.materialTempC) return true;
    const f = cfg.materialFraction;
    // Power and headroom against the node's capacity (power + headroom), not against themselves:
    // near its cap a node's headroom is a few watts, and "half of it" would be noise that costs
    // every node of the cluster a claim (it tripled the claims of a 1,000-node simulation).
    const capacityW = Math.max(r.powerW + r.headroomW, c.powerW + c.headroomW, 1);
    if (Math.abs(r.powerW - c.powerW) > f * capacityW || Math.abs(r.headroomW - c.headroomW) > f * capacityW) return true;
    return changed(r.price, c.price, f);
  }

  /** Issues a new claim now: a new version, pushed to neighbours (and, for a new alarm, to alarmFanout members). */
  private issue(now: number): void {
    if (!this.running) {
      // A stopped node sends nothing and has nothing due: the claim goes out at the first tick
      // after start().
      this.pendingClaim = true;
      this.lastIssuedMs = Number.NEGATIVE_INFINITY;
      return;
    }
    const self = this.self;
    const cfg = this.cfg;
    const nowInt = Math.floor(now);
    const version = Math.max(this.rec[self * REC + R_VERSION]! + 1, nowInt);
    assert(Number.isSafeInteger(version) && nowInt + cfg.claimTtlMs <= Number.MAX_SAFE_INTEGER, 'claim versions and times stay safe integers');
    const wasAlarm = (this.rec[self * REC + R_FLAGS]! & FLAG_ALARM) !== 0 && this.rec[self * REC + R_VERSION]! > 0;
    const alarm = this.alarmReason !== AlarmReason.NONE;
    const r = this.reading;
    const f = this.claimed;
    f.member = self;
    f.flags = (alarm ? FLAG_ALARM : 0) | (r === undefined ? FLAG_NO_READING : 0);
    f.version = version;
    f.issuedMs = nowInt;
    f.expiresMs = nowInt + cfg.claimTtlMs;
    f.tempC = r?.tempC ?? 0;
    f.powerW = r?.powerW ?? 0;
    f.headroomW = r?.headroomW ?? 0;
    f.price = r?.price ?? 0;
    f.heat = alarm ? 1 : r === undefined ? 0 : this.ownHeat;
    const bytes = encodeClaim(f, this.tag, this.crypto);
    this.stats.claimsIssued++;
    this.store(self, bytes, 0, f);
    this.lastIssuedMs = now;
    this.pendingClaim = false;
    this.advertise(self, version, alarm !== wasAlarm);
    for (const t of this.pushTargets) this.sendClaims(t, self);
    if (alarm && !wasAlarm) this.pushAlarm(self, -1);
    this.due(now + Math.min(cfg.refreshMs, cfg.minClaimIntervalMs));
  }

  private store(m: number, src: Uint8Array, off: number, f: ClaimFields): void {
    this.rec[m * REC + R_VERSION] = f.version;
    this.rec[m * REC + R_EXPIRES] = f.expiresMs;
    this.tempC[m] = f.tempC;
    this.heat[m] = f.heat;
    this.rec[m * REC + R_FLAGS] = f.flags;
    copyClaim(src, off, this.claims, m * CLAIM_BYTES);
  }

  /** Pushes member m's claim (a new alarm) to alarmFanout random members other than `from` and m. */
  private pushAlarm(m: number, from: number): void {
    for (let k = 0; k < this.cfg.alarmFanout; k++) {
      const t = this.randomMember(from, m);
      if (t < 0) break;
      this.sendClaims(t, m);
    }
  }

  /**
   * A refutation: a rumour holds this node suspect or dead at its current version, or a claim of
   * a past life holds a higher one. At most one a round: each is a new claim the whole cluster
   * fetches, and a member repeating a rumour must not make this node flood its own versions
   * (receivers would rate-limit them, and then miss the one that refutes).
   */
  private refute(atLeast: number, now: number): void {
    // Versions come from our own signed claims only; the clamp keeps issue()'s arithmetic safe
    // even so (a claim near 2^53 could only be signed with a leaked key).
    atLeast = Math.min(atLeast, MAX_VERSION);
    if (atLeast > this.refuteAtLeast) this.refuteAtLeast = atLeast;
    if (now < this.lastRefuteMs + this.cfg.gossipIntervalMs) {
      this.refutePending = true;
      this.due(this.lastRefuteMs + this.cfg.gossipIntervalMs);
      return;
    }
    this.refutePending = false;
    this.lastRefuteMs = now;
    if (this.rec[this.self * REC + R_VERSION]! < this.refuteAtLeast) this.rec[this.self * REC + R_VERSION] = this.refuteAtLeast;
    this.membership.refutedSelf();
    this.stats.refutations++;
    this.issue(now);
    this.advertise(this.self, this.rec[this.self * REC + R_VERSION]!, true);
  }

  /** Starts spreading (m, version): urgent ones (a new alarm, a refutation) go first in every message, twice as long. */
  private advertise(m: number, version: number, urgent: boolean): void {
    if (urgent) {
      this.urgentVersion[m] = version;
      this.adverts.remove(m);
      this.urgentAdverts.put({ key: m, version, transmits: 0, limit: 2 * this.advertLimit });
    } else {
      this.urgentAdverts.remove(m);
      this.adverts.put(m, version, this.advertLimit);
    }
  }

  // ---------------------------------------------------------------- receiving

  receive(from: string, bytes: Uint8Array, nowMs: number): ReceiveOutcome {
    const now = this.clock(nowMs);
    this.stats.messagesReceived++;
    this.stats.bytesReceived += bytes.length;
    if (!this.running) return this.refuse(ReceiveOutcome.STOPPED);
    const h = this.indexOf.get(from);
    if (h === undefined) return this.refuse(ReceiveOutcome.UNKNOWN_MEMBER);
    if (h === this.self) return this.refuse(ReceiveOutcome.MALFORMED);
    const p = this.parsed;
    const fmt = parseMessage(bytes, this.n, this.tag, p);
    if (fmt === MessageFormat.WRONG_CLUSTER) return this.refuse(ReceiveOutcome.WRONG_CLUSTER);
    if (fmt !== MessageFormat.OK) return this.refuse(ReceiveOutcome.MALFORMED);
    if (this.messageBuckets.reduce(h, now) === BucketReduction.FAILURE) return this.refuse(ReceiveOutcome.RATE_LIMITED);

    // Claims, first pass: decide each claim, checking signatures; a forgery drops everything.
    let outcome: ReceiveOutcome | undefined;
    let accepted = 0;
    const verdict = this.claimVerdict;
    for (let i = 0; i < p.claims; i++) {
      const v = this.judgeClaim(p, p.claimsAt + i * CLAIM_BYTES, h, now);
      if (v === ReceiveOutcome.FORGED || v === ReceiveOutcome.MALFORMED || v === ReceiveOutcome.UNKNOWN_MEMBER) return this.refuse(v);
      verdict[i] = v === undefined ? CLAIM_PASS : 1;
      if (v !== undefined) {
        this.count(v);
        outcome ??= v;
      }
    }
    // Second pass: apply. Claims before rumours, so a refutation in the same message wins.
    for (let i = 0; i < p.claims; i++) {
      if (verdict[i] !== CLAIM_PASS) continue;
      if (this.apply(p, p.claimsAt + i * CLAIM_BYTES, h, now)) accepted++;
    }
    const wants = this.wants;
    const pushes = this.pushes;
    wants.clear();
    pushes.clear();
    this.refuting.clear();
    for (let i = 0; i < p.rumours; i++) this.hearRumour(p.view, p.rumoursAt + i * RUMOUR_BYTES, h, now);

    // What the peer asked for comes first, in its order (it puts what would refute a verdict
    // first); then what its adverts show it is behind on.
    for (let i = 0; i < p.wants; i++) {
      const m = p.view.getUint16(p.wantsAt + i * WANT_BYTES);
      if (this.holds(m, now)) pushes.add(m);
    }
    for (let i = 0; i < p.adverts; i++) this.hearAdvert(p.view, p.advertsAt + i * ADVERT_BYTES, now);

    switch (p.type) {
      case MessageType.PING:
        this.sendAck(h, p.seq, now);
        break;
      case MessageType.ACK:
        this.probeAnswered(p.seq, h, now, true);
        this.relayAnswered(p.seq, h);
        if (wants.size > 0 || pushes.size > 0 || this.refuting.size > 0) this.sendReply(h, now);
        break;
      case MessageType.PING_REQ:
        this.relayProbe(h, p.seq, p.target, now);
        break;
      case MessageType.INDIRECT_ACK:
        this.probeAnswered(p.seq, p.target, now, false);
        break;
      case MessageType.NACK:
        for (const q of this.probes) {
          if (q.seq !== p.seq || q.target !== p.target) continue;
          const k = q.helpers.indexOf(h);
          if (k >= 0) {
            q.helpers[k] = -1;
            q.nacks++;
          }
        }
        break;
      case MessageType.CLAIMS:
        if (pushes.size > 0 || this.refuting.size > 0) this.sendReply(h, now);
        break;
    }
    // A probe or an exchange message was used whatever its claims were (their verdicts are
    // counted in stats.rejected); a CLAIMS message is only its claims.
    if (p.type === MessageType.CLAIMS && p.claims > 0 && accepted === 0 && outcome !== undefined) return outcome;
    return ReceiveOutcome.ACCEPTED;
  }

  private refuse(o: ReceiveOutcome): ReceiveOutcome {
    this.count(o);
    return o;
  }

  private count(o: ReceiveOutcome): void {
    this.stats.rejected[o] = (this.stats.rejected[o] ?? 0) + 1;
  }

  /** Whether this node holds an unexpired claim of m that it can pass on. */
  private holds(m: number, now: number): boolean {
    return this.rec[m * REC + R_VERSION]! > 0 && this.rec[m * REC + R_EXPIRES]! > now;
  }

  /**
   * The checks of one claim, cheapest first: undefined if it is to be applied, else why not. The
   * signature is checked last, and only for a version above the one held.
   */
  private judgeClaim(p: Parsed, off: number, h: number, now: number): ReceiveOutcome | undefined {
    const f = this.fields;
    const fmt = readClaim(p.view, off, f);
    if (fmt !== ClaimFormat.OK) return ReceiveOutcome.MALFORMED;
    const m = f.member;
    if (m >= this.n) return ReceiveOutcome.UNKNOWN_MEMBER;
    const held = this.rec[m * REC + R_VERSION]!;
    if (f.version === held) return ReceiveOutcome.DUPLICATE;
    if (f.version < held) return ReceiveOutcome.REPLAYED;
    if (f.expiresMs <= now) return ReceiveOutcome.STALE;
    if (f.issuedMs > now + this.cfg.maxClockSkewMs) return ReceiveOutcome.FUTURE;
    if (this.claimBuckets.reduce(h, now) === BucketReduction.FAILURE) return ReceiveOutcome.RATE_LIMITED;
    // An issuer's versions are rate-limited, except one that refutes a verdict held here: a
    // suspect that must refute often (a slow node) must not be declared dead for it.
    // The exemption is itself limited to one claim per half round (an honest node refutes at most
    // once a round), so that being accused, by others or by a lie, is no way around the limit.
    const refutes = this.membership.state[m] !== MemberState.ALIVE && f.version > this.membership.atVersion[m]! && now - this.refuteExemptAtMs[m]! >= this.cfg.gossipIntervalMs / 2;
    if (m !== this.self && !refutes && this.versionBuckets.reduce(m, now) === BucketReduction.FAILURE) return ReceiveOutcome.RATE_LIMITED;
    this.stats.verifies++;
    if (!this.verifier.verify(p.bytes, off, this.keys[m]!, this.crypto)) return ReceiveOutcome.FORGED;
    if (refutes) this.refuteExemptAtMs[m] = now;
    return undefined;
  }

  /** Applies a checked claim; true if it was new (a duplicate within the same message is not). */
  private apply(p: Parsed, off: number, h: number, now: number): boolean {
    const f = this.fields;
    readClaim(p.view, off, f);
    const m = f.member;
    if (f.version <= this.rec[m * REC + R_VERSION]!) {
      this.count(ReceiveOutcome.DUPLICATE);
      return false;
    }
    if (m === this.self) {
      // A claim of ours newer than ours: our own past life (a restart lost the counter). Jump past it.
      this.refute(f.version, now);
      return true;
    }
    const wasAlarm = (this.rec[m * REC + R_FLAGS]! & FLAG_ALARM) !== 0 && this.rec[m * REC + R_EXPIRES]! > now;
    this.store(m, p.bytes, off, f);
    this.stats.claimsAccepted++;
    const alarm = (f.flags & FLAG_ALARM) !== 0;
    const urgent = alarm && !wasAlarm;
    this.advertise(m, f.version, urgent);
    if (this.membership.state[m] !== MemberState.ALIVE && f.version > this.membership.atVersion[m]!) {
      this.membership.refute(m);
      this.rumours.removeWhere((r) => r.subject === m);
    }
    if (this.isNeighbour[m] === 1) {
      // Only a neighbour that is hot, or was, moves the price: a cool one's news costs nothing here.
      const hot = f.heat > 0 || alarm;
      if (hot || this.hotNeighbours.has(m)) {
        if (hot) this.hotNeighbours.add(m);
        else this.hotNeighbours.delete(m);
        this.updatePrice(now);
      }
    }
    if (urgent) this.pushAlarm(m, h);
    return true;
  }

  private hearRumour(v: DataView, off: number, from: number, now: number): void {
    const kind = v.getUint8(off) as RumourKind;
    const s = v.getUint16(off + 1);
    const accuser = v.getUint16(off + 3);
    const version = readU53(v, off + 5);
    if (s === this.self) {
      // Someone holds us suspect or dead at our current version: refute. At an older version,
      // our newer claim has not reached everyone yet: spread it again, urgently. At a newer one
      // (a past life's claim, or a lie: a rumour is unsigned), never jump to it: ask for the
      // signed claim, and jump past it only when it verifies (apply).
      const mine = this.rec[this.self * REC + R_VERSION]!;
      if (version === mine) this.refute(mine, now);
      else if (version > mine) {
        if (now - this.rec[this.self * REC + R_WANTED]! >= this.cfg.gossipIntervalMs) this.wants.add(this.self);
      } else if (this.urgentAdverts.get(this.self)?.version !== mine) this.advertise(this.self, mine, true);
      return;
    }
    // A member does not accuse itself: such a rumour is only a way to earn the refutation
    // exemption from the version limit (judgeClaim).
    if (s === from) return;
    // A verdict is only taken on the version this node holds. On an older one, the sender is
    // behind: the claim that refutes it goes back at once, outside the budget (else, in a busy
    // cluster, it could arrive after the sender's timer). Of a newer one this node cannot judge;
    // it asks for that claim, first.
    const held = this.rec[s * REC + R_VERSION]!;
    if (version < held) {
      if (this.holds(s, now)) this.refuting.add(s);
      return;
    }
    if (version > held) {
      if (now - this.rec[s * REC + R_WANTED]! >= this.cfg.gossipIntervalMs) this.wants.add(s);
      return;
    }
    // Either kind starts (or confirms) a suspicion here; "dead" is only ever this node's own
    // timer's verdict. A rumour is unsigned: were a DEAD rumour a verdict, one message from any
    // member could kill a live node everywhere, and take a dying node's alarm out of its
    // neighbours' prices, before it could refute.
    if (accuser === s) return;
    const m = this.membership;
    const o = m.suspect(s, version, accuser, now);
    if (o === SuspectOutcome.IGNORED) return;
    this.spreadRumour(RumourKind.SUSPECT, s, accuser, version);
    if (o === SuspectOutcome.STARTED) this.onStateChange(s, now);
    this.due(m.nextDeadlineMs());
    void kind;
  }

  private diedNow(s: number, version: number): void {
    this.stats.deaths++;
    this.rumours.removeWhere((r) => r.subject === s);
    this.spreadRumour(RumourKind.DEAD, s, this.self, version);
    this.onStateChange(s, this.nowMs);
  }

  private spreadRumour(kind: RumourKind, subject: number, accuser: number, version: number): void {
    const key = subject * 0x10000 + (kind === RumourKind.DEAD ? RUMOUR_DEAD_KEY : accuser);
    this.rumours.put({ key, kind, subject, accuser, version, transmits: 0, limit: this.rumourLimit });
  }

  private onStateChange(m: number, now: number): void {
    if (this.isNeighbour[m] === 1 && this.hotNeighbours.has(m)) this.updatePrice(now);
  }

  private hearAdvert(v: DataView, off: number, now: number): void {
    const m = v.getUint16(off);
    const version = readU53(v, off + 2);
    const mine = this.rec[m * REC + R_VERSION]!;
    if (version > mine) {
      // Ask for it, unless it was asked for lately (from another peer, perhaps).
      if (now - this.rec[m * REC + R_WANTED]! >= this.cfg.gossipIntervalMs) this.wants.add(m);
    } else if (version < mine) {
      if (this.holds(m, now)) this.pushes.add(m);
    } else if (mine > 0) {
      this.adverts.heard(m, version);
    }
  }

  private relayProbe(requester: number, requesterSeq: number, target: number, now: number): void {
    if (target === this.self || target === requester || this.relays.length >= MAX_RELAYS) return;
    const seq = this.nextSeq();
    const cfg = this.cfg;
    const nackAtMs = now + 0.8 * cfg.probeTimeoutMs;
    const deadlineMs = now + Math.max(cfg.probeTimeoutMs, cfg.suspectAfterMs - cfg.probeTimeoutMs);
    this.relays.push({ seq, requester, requesterSeq, target, nackAtMs, nacked: false, deadlineMs });
    this.due(nackAtMs);
    this.sendPing(target, seq);
  }

  private relayAnswered(seq: number, target: number): void {
    const rs = this.relays;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if (r.seq === seq && r.target === target) {
        rs[i] = rs[rs.length - 1]!;
        rs.pop();
        this.sendSmall(MessageType.INDIRECT_ACK, r.requester, r.requesterSeq, target);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- sending

  private send(to: number, bytes: Uint8Array): void {
    this.stats.messagesSent++;
    this.stats.bytesSent += bytes.length;
    this.transport.send(this.ids[to]!, bytes);
  }

  /** Adverts: ours, then the recently changed ones. */
  private writeAdverts(w: MessageWriter): void {
    const self = this.self;
    w.advert(self, this.rec[self * REC + R_VERSION]!);
    let room = this.cfg.maxAdvertsPerMessage;
    if (this.urgentAdverts.size > 0) room -= this.urgentAdverts.take(room, this.sendUrgentAdvert);
    this.adverts.take(room, this.sendAdvert);
  }

  /** Rumours: first what this node holds of the recipient (so it can refute), then the queue. */
  private writeRumours(w: MessageWriter, to: number): void {
    const m = this.membership;
    const st = m.state[to]!;
    if (st !== MemberState.ALIVE) {
      w.rumour(st === MemberState.DEAD ? RumourKind.DEAD : RumourKind.SUSPECT, to, st === MemberState.DEAD ? this.self : m.accuserOf(to), m.atVersion[to]!);
    }
    this.rumours.take(this.cfg.maxRumoursPerMessage, this.sendRumour);
  }

  /**
   * The claims the peer wanted or is behind on. Urgent ones first and outside the budget: an
   * alarm, or a claim this node is still spreading urgently (a new alarm, a refutation), since a
   * refutation stuck behind a queue of ordinary news is a live node declared dead.
   */
  private writePushes(w: MessageWriter, now: number): void {
    const pushes = this.pushes;
    const refuting = this.refuting;
    let room = this.cfg.maxClaimsPerMessage;
    for (let i = 0; i < refuting.size && room > 0; i++) if (w.claim(this.claims, refuting.items[i]! * CLAIM_BYTES)) room--;
    for (let i = 0; i < pushes.size && room > 0; i++) {
      const m = pushes.items[i]!;
      if (this.urgentNow(m, now) && !refuting.has(m) && w.claim(this.claims, m * CLAIM_BYTES)) room--;
    }
    for (let i = 0; i < pushes.size && room > 0; i++) {
      const m = pushes.items[i]!;
      if (this.urgentNow(m, now) || refuting.has(m)) continue;
      if (this.sendBudget.reduce(0, now) === BucketReduction.FAILURE) return;
      if (w.claim(this.claims, m * CLAIM_BYTES)) room--;
    }
  }

  private urgentNow(m: number, now: number): boolean {
    if ((this.rec[m * REC + R_FLAGS]! & FLAG_ALARM) !== 0 && this.rec[m * REC + R_EXPIRES]! > now) return true;
    return this.urgentVersion[m] === this.rec[m * REC + R_VERSION] && this.rec[m * REC + R_VERSION]! > 0;
  }

  private sendPing(to: number, seq: number): void {
    const w = this.writer.begin(MessageType.PING, this.tag, seq, NO_MEMBER);
    this.writeAdverts(w);
    const n = this.n;
    for (let k = 0; k < this.cfg.sweepPerMessage && k < n - 1; k++) {
      if (this.sweepAt === this.self) this.sweepAt = (this.sweepAt + 1) % n;
      if (!w.advert(this.sweepAt, this.rec[this.sweepAt * REC + R_VERSION]!)) break;
      this.sweepAt = (this.sweepAt + 1) % n;
    }
    this.writeRumours(w, to);
    this.send(to, w.finish(this.lendBytes));
  }

  /**
   * What this node asks for: members it holds suspect or dead first (a newer claim would refute
   * the verdict), then the rest; no more than two replies' worth, since a peer sends at most
   * maxClaimsPerMessage a reply and an unanswered want waits a round before it is asked again.
   */
  private writeWants(w: MessageWriter, now: number): void {
    const cap = 2 * this.cfg.maxClaimsPerMessage;
    let written = 0;
    for (let pass = 0; pass < 2 && written < cap; pass++) {
      for (let i = 0; i < this.wants.size; i++) {
        const m = this.wants.items[i]!;
        if (written >= cap) break;
        if ((this.membership.state[m] !== MemberState.ALIVE) !== (pass === 0)) continue;
        if (!w.want(m)) return;
        this.rec[m * REC + R_WANTED] = now;
        written++;
      }
    }
  }

  private sendAck(to: number, seq: number, now: number): void {
    const w = this.writer.begin(MessageType.ACK, this.tag, seq, NO_MEMBER);
    this.writeAdverts(w);
    this.writeWants(w, now);
    this.writeRumours(w, to);
    this.writePushes(w, now);
    this.send(to, w.finish(this.lendBytes));
  }

  /** A CLAIMS reply: what the peer wanted or is behind on, and what this node wants. */
  private sendReply(to: number, now: number): void {
    const w = this.writer.begin(MessageType.CLAIMS, this.tag, 0, NO_MEMBER);
    this.writeWants(w, now);
    this.writePushes(w, now);
    if (w.empty) return w.abandon();
    this.send(to, w.finish(this.lendBytes));
  }

  private sendClaims(to: number, m: number): void {
    const w = this.writer.begin(MessageType.CLAIMS, this.tag, 0, NO_MEMBER);
    w.claim(this.claims, m * CLAIM_BYTES);
    this.send(to, w.finish(this.lendBytes));
  }

  private sendSmall(type: MessageType, to: number, seq: number, target: number): void {
    const w = this.writer.begin(type, this.tag, seq, target);
    this.send(to, w.finish(this.lendBytes));
  }

  // ---------------------------------------------------------------- price

  /** Sets neighbourHeatNow to the hottest live neighbour's heat (1 for an alarm), and neighbourAlarmNow. */
  private neighbourHeat(now: number): void {
    let max = 0;
    let alarm = false;
    for (const m of this.hotNeighbours) {
      if (this.rec[m * REC + R_EXPIRES]! <= now) {
        this.hotNeighbours.delete(m);
        continue;
      }
      if (this.membership.state[m] === MemberState.DEAD) continue;
      const a = (this.rec[m * REC + R_FLAGS]! & FLAG_ALARM) !== 0;
      const h = a ? 1 : this.heat[m]!;
      if (h > max) max = h;
      alarm ||= a;
    }
    this.neighbourHeatNow = max;
    this.neighbourAlarmNow = alarm;
  }

  private updatePrice(now: number): void {
    if (this.hotNeighbours.size > 0) this.neighbourHeat(now);
    else {
      this.neighbourHeatNow = 0;
      this.neighbourAlarmNow = false;
    }
    const canTakeWork = this.reading === undefined || this.reading.headroomW > 0;
    this.price.set(this.ownHeat, this.neighbourHeatNow, canTakeWork, this.neighbourAlarmNow || this.alarmed, now);
  }

  // ---------------------------------------------------------------- invariants

  /** The node's invariants, for tests and the simulator: cheap enough to call now and then, not every step. */
  isValid(): boolean {
    if (!this.membership.isValid()) return false;
    if (!this.adverts.isValid() || !this.sendBudget.isValid()) return false;
    if (!this.messageBuckets.isValid() || !this.claimBuckets.isValid() || !this.versionBuckets.isValid()) return false;
    if (this.probes.length > MAX_PROBES || this.relays.length > MAX_RELAYS) return false;
    for (let m = 0; m < this.n; m++) {
      const v = this.rec[m * REC + R_VERSION]!;
      if (!(Number.isSafeInteger(v) && v >= 0)) return false;
      if (v > 0 && readU53(new DataView(this.claims.buffer, m * CLAIM_BYTES), 4) !== v) return false;
      if (v > 0 && !(this.rec[m * REC + R_EXPIRES]! <= MAX_NOW_MS + MAX_CLAIM_TTL_MS + 1)) return false;
    }
    return true;
  }
}

interface MemberList {
  ids: string[];
  keys: Uint8Array[];
  indexOf: ReadonlyMap<string, number>;
  tag: number;
}

/**
 * The member list in index order, its index and its cluster tag. Cached by the map's identity,
 * since a simulator builds a thousand nodes from one map; a map must not change once a node uses it.
 */
const memberLists = new WeakMap<ReadonlyMap<string, Uint8Array>, MemberList>();
/** Whether a map still holds exactly the cached list (a map changed in place must not reuse a stale tag). */
function sameMembers(list: MemberList, members: ReadonlyMap<string, Uint8Array>): boolean {
  if (list.ids.length !== members.size) return false;
  for (let i = 0; i < list.ids.length; i++) {
    const k = members.get(list.ids[i]!);
    const c = list.keys[i]!;
    if (k === c) continue;
    if (k === undefined || k.length !== c.length) return false;
    for (let j = 0; j < c.length; j++) if (k[j] !== c[j]) return false;
  }
  return true;
}

function memberList(members: ReadonlyMap<string, Uint8Array>): MemberList {
  const cached = memberLists.get(members);
  if (cached !== undefined && sameMembers(cached, members)) return cached;
  const ids = [...members.keys()].sort();
  const keys = ids.map((m) => {
    const k = members.get(m)!;
    if (!(k instanceof Uint8Array) || k.length !== PUBLIC_KEY_BYTES) throw bad(`member ${m}'s key is not a raw 32-byte Ed25519 public key`);
    if (m.length === 0 || Buffer.byteLength(m, 'utf8') > 255) throw bad(`a member id is 1 to 255 bytes of UTF-8, not '${m.slice(0, 80)}'`);
    return k;
  });
  const list = { ids, keys, indexOf: new Map(ids.map((m, i) => [m, i])), tag: clusterTagOf(ids, keys) };
  memberLists.set(members, list);
  return list;
}

function changed(a: number, b: number, fraction: number): boolean {
  return Math.abs(a - b) > fraction * Math.max(Math.abs(a), Math.abs(b), 1);
}

/** A short list of member indexes without repeats (a message's wants or pushes), reused from message to message. */
class IndexList {
  readonly items: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.items = new Int32Array(capacity);
  }
  clear(): void {
    this.size = 0;
  }
  has(m: number): boolean {
    for (let i = 0; i < this.size; i++) if (this.items[i] === m) return true;
    return false;
  }
  /** Adds m unless present; past the capacity, drops it (the limits of a message bound what it can ask). */
  add(m: number): void {
    if (this.size >= this.items.length || this.has(m)) return;
    this.items[this.size++] = m;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkReading(x: number, name: string): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(`a heat reading's ${name} is a finite number, not ${String(x)}`);
}

function bad(message: string): MaxwellError {
  return new MaxwellError(ErrorCode.BAD_ARGUMENT, message);
}

function checkConfig(c: HeatConfig): void {
  const positive = ['gossipIntervalMs', 'probeTimeoutMs', 'suspectAfterMs', 'deadAfterMs', 'claimTtlMs', 'refreshMs', 'maxClaimsPerPeerPerS', 'maxClaimsSentPerS', 'maxMessagesPerPeerPerS', 'maxVersionsPerMemberPerMin', 'advertTransmitMult', 'rumourTransmitMult'] as const;
  for (const k of positive) if (!(typeof c[k] === 'number' && c[k] > 0 && Number.isFinite(c[k]))) throw bad(`heat config ${k} is a positive number, not ${String(c[k])}`);
  const counts = ['fanout', 'indirectProbes', 'confirmations', 'healthMax', 'alarmFanout', 'maxPushTargets', 'maxAdvertsPerMessage', 'sweepPerMessage', 'maxClaimsPerMessage', 'maxRumoursPerMessage'] as const;
  for (const k of counts) if (!(Number.isInteger(c[k]) && c[k] >= 0 && c[k] <= 64)) throw bad(`heat config ${k} is an integer in [0, 64], not ${String(c[k])}`);
  if (c.fanout < 1) throw bad('heat config fanout is at least 1 (the probe)');
  // At 0 a node would count as unhealthy from the start, and never suspect anyone.
  if (c.healthMax < 1) throw bad('heat config healthMax is at least 1');
  if (c.maxClaimsPerMessage < 1 || c.maxClaimsPerMessage > 12) throw bad('heat config maxClaimsPerMessage is in [1, 12]');
  if (c.maxRumoursPerMessage > 31) throw bad('heat config maxRumoursPerMessage is at most 31 (one place is kept for the recipient)');
  if (c.maxAdvertsPerMessage + c.sweepPerMessage > 63) throw bad('heat config maxAdvertsPerMessage + sweepPerMessage is at most 63');
  if (!(c.suspicionMaxMult >= 1)) throw bad('heat config suspicionMaxMult is at least 1');
  if (!(c.probeTimeoutMs <= c.suspectAfterMs)) throw bad('heat config probeTimeoutMs ≤ suspectAfterMs');
  if (!(c.claimTtlMs <= MAX_CLAIM_TTL_MS && c.refreshMs < c.claimTtlMs)) throw bad('heat config refreshMs < claimTtlMs ≤ 24 h');
  if (!(c.minClaimIntervalMs >= 0 && c.minClaimIntervalMs <= c.refreshMs)) throw bad('heat config 0 ≤ minClaimIntervalMs ≤ refreshMs');
  if (!(c.maxClockSkewMs >= 0 && Number.isFinite(c.maxClockSkewMs))) throw bad('heat config maxClockSkewMs is a finite number ≥ 0');
  if (!(c.materialHeat > 0 && c.materialTempC > 0 && c.materialFraction > 0)) throw bad('heat config material thresholds are positive');
  const p = checkPriceConfig(c);
  if (p !== undefined) throw bad(`heat config: ${p}`);
}
