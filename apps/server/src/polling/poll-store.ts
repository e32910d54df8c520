// Where the polls of vendors are scheduled, claimed and checkpointed (migration 11). An instance's
// schedule is worked out from its configuration by the poller, once per version of the instance
// (`unscheduled`, then `schedule`); a replica claims a due poll with a lease, as it claims a token
// refresh, so one replica at a time polls an instance; each page of changes is committed with its
// events in one transaction (`commitPage`), so an event is enqueued exactly when the checkpoint
// moves past its record.
import type { ClaimFairnessUnderWay } from "../database/claim-fairness.js";
import type { EventDraft, EventSubject } from "../events/outbox.js";
import type { Checkpoint } from "./vendor-changes.js";

/** An instance whose schedule was not worked out for its current version: new, or changed since. */
export interface UnscheduledInstance {
  organizationId: number;
  id: number;
  version: number;
  connectorKey: string;
  /** The instance's stored entries that are not secret, as JSON. */
  configuration: string;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  /** Whether the poller has scheduled an earlier version of it. */
  known: boolean;
}

/** A claimed poll: the instance, and where each of its resources was left. */
export interface DuePoll {
  organizationId: number;
  id: number;
  /** The version of the instance the poll was scheduled for. */
  version: number;
  /** JSON: Checkpoints. */
  checkpoints: string;
  /** Epoch ms: the checkpoint of a resource polled for the first time. */
  startedAt: number;
  /** Polls in a row that failed (the vendor down, refusing or throttling). */
  failures: number;
}

/** Per resource: changes are asked for since `since` (epoch ms, whole seconds); `seen` were sent at that time already. */
export type Checkpoints = Record<string, Checkpoint>;

export interface PollStore {
  /** Up to `limit` instances whose schedule is not worked out for their current version, oldest first. */
  unscheduled(limit: number): Promise<UnscheduledInstance[]>;
  /**
   * Records the schedule of the instance's `version`: not polled, or polled (due at `now` when it
   * was not polled before, checkpoints starting anew at `startAt`; else its due time and
   * checkpoints kept).
   */
  schedule(instance: EventSubject & { version: number }, polled: boolean, startAt: number, now: number): Promise<void>;
  /**
   * Claims up to `limit` polls due at `now` that nobody holds, for `owner` until `now + leaseMs`,
   * round-robin across organizations as the refreshes are (each organization's earliest first, at
   * most `fairness.perOrganization` of one less what it has under way), none of the organizations
   * in `fairness.skip`.
   */
  claimDue(owner: string, now: number, leaseMs: number, limit: number, fairness?: ClaimFairnessUnderWay): Promise<DuePoll[]>;
  /**
   * In one transaction, while `owner` still holds the claim and the instance is still at
   * `instance.version` (the version the poll read its configuration from): the new checkpoints and the events of the page that moved them.
   * `held: false` (nothing written) when the claim was lost, or the instance changed meanwhile (its
   * notifications may be off now: the poller schedules it again before it is polled again). The
   * instance's row is read under a lock, so a write of the instance and a page's events are in
   * one order or the other, never interleaved.
   */
  commitPage(
    owner: string,
    instance: EventSubject & { version: number },
    checkpoints: Checkpoints,
    drafts: EventDraft[],
  ): Promise<{ held: boolean; enqueued: boolean }>;
  /** Ends `owner`'s claim: the next poll due at `nextDueAt` (unless it is no longer polled), after `failures` failures in a row. */
  finish(owner: string, id: number, nextDueAt: number, failures: number): Promise<void>;
  /** Forgets the poll of an instance that is gone. */
  forget(id: number): Promise<void>;
  /** Gives every claim of `owner`'s back; how many there were. */
  releaseAll(owner: string): Promise<number>;
}
