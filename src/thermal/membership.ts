/**
 * Membership and failure suspicion, after SWIM (Das, Gupta, Motivala 2002) with Lifeguard's
 * refinements (Dadgar, Phillips, Currey 2018), for a fixed list of members (the cluster's
 * configuration: nobody joins by talking).
 *
 *  - each member is alive, suspect or dead *at a version*: the version of its claim this node
 *    held when it formed the verdict. A claim with a higher version refutes it (the member is
 *    alive again): a live member that hears it is suspected issues a new claim, SWIM's
 *    incarnation bump, and that claim overrides every verdict on its old version;
 *  - a suspicion becomes death when its timer runs out. Lifeguard's dynamic timeout: it starts
 *    at deadAfterMs·suspicionMaxMult and falls, with each independent accuser after the first,
 *    towards deadAfterMs once `confirmations` of them agree:
 *        timeout(C) = max(min, max − (max − min)·log(C + 1)/log(K + 1)),  C confirmations, K expected;
 *    so a lone accuser (perhaps the slow one) gives the suspect the longest time to refute, and
 *    a member many find silent is declared dead soonest;
 *  - Lifeguard's local health multiplier (`health`, 0 … healthMax): it rises when this node's
 *    own probes fail, when an indirect probe's helpers do not even answer (missed nacks), and
 *    when this node must refute a suspicion of itself; it falls with each probe answered. Probe
 *    timeouts are scaled by (1 + health), so a node that is itself slow or cut off waits longer
 *    before blaming others. One step past Lifeguard: at healthMax (every recent probe failed)
 *    the node raises no new suspicion from its own probes, since the fault is most likely its
 *    own; an isolated node thus does not declare the whole cluster dead, and does not make the
 *    whole cluster refute when it comes back.
 */
import { assert } from '../assert.js';

export const MemberState = {
  ALIVE: 0,
  SUSPECT: 1,
  DEAD: 2,
} as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];
export const MEMBER_STATE_NAMES = ['alive', 'suspect', 'dead'] as const;
export type MemberStateName = (typeof MEMBER_STATE_NAMES)[number];

export const SuspectOutcome = {
  /** A new suspicion: pass it on. */
  STARTED: 0,
  /** A new independent accuser of a suspect: pass it on (it shortens everyone's timer). */
  CONFIRMED: 1,
  /** Nothing new. */
  IGNORED: 2,
} as const;
export type SuspectOutcome = (typeof SuspectOutcome)[keyof typeof SuspectOutcome];

export interface MembershipConfig {
  /** The shortest suspicion timeout (with `confirmations` independent accusers). */
  deadAfterMs: number;
  /** A lone accuser's suspicion lasts deadAfterMs × this. */
  suspicionMaxMult: number;
  /** Independent accusers that shorten a suspicion to deadAfterMs (Lifeguard's K). */
  confirmations: number;
  /** The local health multiplier's ceiling. */
  healthMax: number;
}

interface Suspicion {
  startMs: number;
  deadlineMs: number;
  accusers: number[];
}

export class Membership {
  readonly state: Uint8Array;
  /** The claim version each verdict refers to. */
  readonly atVersion: Float64Array;
  private readonly suspicions = new Map<number, Suspicion>();
  /** Lifeguard's local health multiplier. */
  health = 0;

  constructor(
    readonly members: number,
    readonly self: number,
    private readonly c: MembershipConfig,
  ) {
    assert(self >= 0 && self < members, 'this node is a member');
    this.state = new Uint8Array(members);
    this.atVersion = new Float64Array(members);
  }

  /** Lifeguard's timeout for a suspicion with `accusers` independent accusers (the first included). */
  timeoutMs(accusers: number): number {
    const min = this.c.deadAfterMs;
    const max = min * this.c.suspicionMaxMult;
    const confirmations = Math.max(0, accusers - 1);
    const k = this.c.confirmations;
    if (k <= 0) return min;
    return Math.max(min, max - ((max - min) * Math.log(confirmations + 1)) / Math.log(k + 1));
  }

  /** `accuser` finds `subject` silent; `version` is the subject's claim version this node holds. */
  suspect(subject: number, version: number, accuser: number, nowMs: number): SuspectOutcome {
    assert(subject !== this.self, 'a node does not suspect itself');
    const st = this.state[subject]!;
    if (st === MemberState.DEAD) return SuspectOutcome.IGNORED;
    if (st === MemberState.ALIVE) {
      this.state[subject] = MemberState.SUSPECT;
      this.atVersion[subject] = version;
      this.suspicions.set(subject, { startMs: nowMs, deadlineMs: nowMs + this.timeoutMs(1), accusers: [accuser] });
      return SuspectOutcome.STARTED;
    }
    const s = this.suspicions.get(subject);
    assert(s !== undefined, 'a suspect has a suspicion');
    // Only the first K + 1 accusers change the timeout; more would make the list unbounded.
    if (s.accusers.length > this.c.confirmations || s.accusers.includes(accuser)) return SuspectOutcome.IGNORED;
    s.accusers.push(accuser);
    s.deadlineMs = s.startMs + this.timeoutMs(s.accusers.length);
    return SuspectOutcome.CONFIRMED;
  }

  /** The first accuser of a suspect (what a rumour about it names). */
  accuserOf(subject: number): number {
    return this.suspicions.get(subject)?.accusers[0] ?? this.self;
  }

  /** True if this changed the member's state. */
  declareDead(subject: number, version: number): boolean {
    assert(subject !== this.self, 'a node does not declare itself dead');
    if (this.state[subject] === MemberState.DEAD) return false;
    this.state[subject] = MemberState.DEAD;
    this.atVersion[subject] = version;
    this.suspicions.delete(subject);
    return true;
  }

  /** A claim newer than the verdict's version arrived: the member is alive. True if this changed its state. */
  refute(subject: number): boolean {
    if (this.state[subject] === MemberState.ALIVE) return false;
    this.state[subject] = MemberState.ALIVE;
    this.atVersion[subject] = 0;
    this.suspicions.delete(subject);
    return true;
  }

  /** Declares dead every suspect whose timer has run out by `nowMs`; appends them to `out`. */
  expire(nowMs: number, out: number[]): void {
    if (this.suspicions.size === 0) return;
    for (const [subject, s] of this.suspicions) {
      if (s.deadlineMs <= nowMs) {
        this.declareDead(subject, this.atVersion[subject]!);
        out.push(subject);
      }
    }
  }

  nextDeadlineMs(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const s of this.suspicions.values()) if (s.deadlineMs < t) t = s.deadlineMs;
    return t;
  }

  get suspects(): number {
    return this.suspicions.size;
  }

  // Lifeguard's local health.
  /** A probe failed: `delta` is 1, or the helpers that did not nack (memberlist's rule: helpers that all nacked clear this node). */
  probeFailed(delta: number): void {
    this.health = Math.min(this.c.healthMax, this.health + delta);
  }
  probeAnswered(): void {
    this.health = Math.max(0, this.health - 1);
  }
  refutedSelf(): void {
    this.health = Math.min(this.c.healthMax, this.health + 1);
  }
  /** A probe timeout scaled by local health. */
  scaled(ms: number): number {
    return ms * (1 + this.health);
  }
  get unhealthy(): boolean {
    return this.health >= this.c.healthMax;
  }

  /** The invariants, for tests: suspects and suspicions agree; health is in range. */
  isValid(): boolean {
    let suspects = 0;
    for (let i = 0; i < this.members; i++) {
      const st = this.state[i]!;
      if (st > MemberState.DEAD) return false;
      if (st === MemberState.SUSPECT) {
        suspects++;
        if (!this.suspicions.has(i)) return false;
      }
    }
    if (this.state[this.self] !== MemberState.ALIVE) return false;
    return suspects === this.suspicions.size && this.health >= 0 && this.health <= this.c.healthMax;
  }
}
