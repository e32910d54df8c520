// One poll of one instance's vendor, claimed by the poller: for each watched resource, the records
// changed since its checkpoint, page after page (page-position.ts: where each page leaves it), through the outbound guard with
// the instance's credentials (renewed when due, or once after a 401, as the proxy renews them);
// each page's events committed with the checkpoint it moves to. What it came to decides when the
// next poll is due (poller.ts).
import type { PollingEvents } from "@instances-api/spec-tools";
import type { Readable } from "node:stream";
import type { EventDraft, VendorRecordChange } from "../events/outbox.js";
import { NotFoundError } from "../errors.js";
import { renewedAccess, vendorAccess, type VendorAccess, type VendorAccessDeps } from "../instances/operations/vendorAccess.js";
import { notificationTarget } from "../instances/notifications.js";
import { pollerSettings } from "../instances/poller-settings.js";
import { deadlineSignal, type OutboundStream } from "../outbound/guarded-stream.js";
import { valueAt } from "../provisioning/json-pointer.js";
import { originRefusal } from "../provisioning/provisioner.js";
import { expandTemplate, expandUrl } from "../provisioning/templates.js";
import { credentialPlacement } from "../provisioning/vendor-requests.js";
import type { Checkpoints, DuePoll, PollStore } from "./poll-store.js";
import { afterPage, passOverrun, positionOf, type PagePosition } from "./page-position.js";
import { sinceParameter, toSecond, type VendorChange } from "./vendor-changes.js";

export interface PollLimits {
  /** One request to the vendor, to the answer's last byte. */
  timeoutMs: number;
  /**
   * One whole poll: no page is asked for past it, and a request under way is cut at it. Shorter
   * than the poll's lease, so that no other claim of the same instance starts while it runs.
   */
  pollMaxMs: number;
  /** One answer's body at most; a larger one fails the poll. */
  responseMaxBytes: number;
  /** Pages asked for in one poll, across its resources: the rest waits for the next poll. */
  maxPages: number;
  /** A record larger than this (as JSON) is sent without its fields (`record: null`, `recordTooLarge: true`). */
  recordMaxBytes: number;
  /** How long a poll waits for a token renewal another call has under way. */
  renewalWaitMs: number;
  /** The shortest interval between two polls of an instance, whatever it asks for. */
  intervalFloorMs: number;
}

export interface PollInstanceDeps extends VendorAccessDeps {
  polls: PollStore;
  stream: OutboundStream;
  limits: PollLimits;
}

/** A page of more records than this is refused: it would be one transaction of that many events. */
export const maxRecordsPerPage = 1_000;

/** What a poll came to. */
export type PollOutcome =
  /** `more`: it moved on and stopped at its page or time limit, so the rest is due at once. */
  | { kind: "polled"; intervalMs: number; events: number; enqueued: boolean; more: boolean }
  /** The vendor refused the instance's credentials: not polled until a write makes them good again (a new version). */
  | { kind: "invalid"; intervalMs: number }
  /** The instance is gone, or no longer polled: nothing more to do now. */
  | { kind: "gone" }
  | { kind: "not-polled" }
  /** The claim was lost, or the instance changed during the poll: polled again (if still polled) once it is scheduled anew. */
  | { kind: "stale"; enqueued: boolean }
  /** The vendor throttled, failed or refused: try again later (its Retry-After, when it said one). */
  | { kind: "failed"; intervalMs: number; why: string; retryAfterMs?: number; enqueued: boolean };

/** A failure of the vendor's that ends this poll; what was committed stays. */
class VendorFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export async function pollInstance(deps: PollInstanceDeps, owner: string, due: DuePoll, now = Date.now()): Promise<PollOutcome> {
  const caller = { organizationId: due.organizationId, userId: 0 };
  let access: VendorAccess;
  try {
    access = await vendorAccess(deps, caller, due.id, now);
  } catch (error) {
    if (error instanceof NotFoundError) return { kind: "gone" };
    throw error;
  }
  // Changed since it was scheduled: scheduled anew first (its notifications may be off now).
  if (access.version !== due.version) return { kind: "stale", enqueued: false };
  const { events } = access.connector;
  const values = access.credentials.scope.values;
  const settings = pollerSettings(events, values, deps.limits.intervalFloorMs);
  if (events.type !== "polling" || !settings.polled) return { kind: "not-polled" };
  const callbackUrl = notificationTarget(values);
  if (callbackUrl === undefined) return { kind: "not-polled" };
  // Credentials the vendor refused are not sent again and again: a write that makes them good
  // again (new ones, or a check that passes) is a new version, scheduled anew.
  if (!access.valid) return { kind: "invalid", intervalMs: settings.intervalMs };
  // A simulated vendor has no data: polling it finds no change.
  if (deps.provisioning.mode !== "live")
    return { kind: "polled", intervalMs: settings.intervalMs, events: 0, enqueued: false, more: false };

  const checkpoints = watchedCheckpoints(due.checkpoints, settings.resources);
  const deadline = now + deps.limits.pollMaxMs;
  let pages = 0;
  let sent = 0;
  let enqueued = false;
  let moved = false;
  let overrun = false;
  // Stopped at a limit: due again at once if it moved on, else at its interval (a vendor whose
  // pages never end nor hold anything new is not asked again and again; nor one whose pass has
  // gone on past passPagesAtOnce, which moves with every page).
  const stopped = (): PollOutcome => ({
    kind: "polled",
    intervalMs: settings.intervalMs,
    events: sent,
    enqueued,
    more: moved && !overrun,
  });
  try {
    if (access.renewalDue) access = (await renewedAccess(deps, caller, access, deps.limits.renewalWaitMs)) ?? access;
    for (const resource of settings.resources) {
      const start = checkpoints[resource] ?? { since: toSecond(due.startedAt), seen: [] };
      let checkpoint = start;
      let position = positionOf(start);
      for (;;) {
        if (pages >= deps.limits.maxPages || Date.now() >= deadline) return stopped();
        pages++;
        const page = await fetchPage(
          deps,
          caller,
          access,
          events,
          { resource, since: checkpoint.since, ...position, deadline },
          (renewed) => (access = renewed),
        );
        const after = afterPage({
          records: page.records,
          last: page.last,
          checkpoint,
          position,
          fields: fieldsOf(access, events),
          windowStart: start.since,
          orderedByChange: events.orderedByChange,
          now,
          fetchedAt: Date.now(),
        });
        if (after.moved) {
          checkpoints[resource] = after.checkpoint;
          const drafts = after.changes.map((change) => draftOf(change, due.id, resource, callbackUrl, deps.limits.recordMaxBytes));
          const committed = await deps.polls.commitPage(
            owner,
            { organizationId: due.organizationId, id: due.id, version: due.version },
            checkpoints,
            drafts,
          );
          if (!committed.held) return { kind: "stale", enqueued };
          enqueued ||= committed.enqueued;
          sent += drafts.length;
          moved = true;
        }
        if (after.done) break;
        position = after.position;
        checkpoint = after.checkpoint;
        overrun ||= passOverrun(checkpoint);
      }
    }
  } catch (error) {
    if (!(error instanceof VendorFailure)) throw error;
    return { kind: "failed", intervalMs: settings.intervalMs, why: error.message, retryAfterMs: error.retryAfterMs, enqueued };
  }
  return { kind: "polled", intervalMs: settings.intervalMs, events: sent, enqueued, more: false };
}

/** The stored checkpoints of the resources watched now (a resource no longer watched is dropped), in an object that inherits nothing. */
function watchedCheckpoints(stored: string, resources: readonly string[]): Checkpoints {
  const parsed = JSON.parse(stored) as Checkpoints;
  const checkpoints = Object.create(null) as Checkpoints;
  for (const resource of resources) if (Object.hasOwn(parsed, resource)) checkpoints[resource] = parsed[resource]!;
  return checkpoints;
}

function fieldsOf(access: VendorAccess, events: PollingEvents) {
  const expand = (template: string) => expandTemplate(access.connector.key, template, access.credentials.scope);
  return { id: events.recordId, created: expand(events.createdTime), modified: expand(events.modifiedTime) };
}

interface PageRequest extends PagePosition {
  resource: string;
  since: number;
  /** Epoch ms: the poll's end. */
  deadline: number;
}

/** One page of changed records; a 401 renews the credentials once (renewed: the ones to use from now on). */
async function fetchPage(
  deps: PollInstanceDeps,
  caller: { organizationId: number; userId: number },
  access: VendorAccess,
  events: PollingEvents,
  request: PageRequest,
  renewed: (access: VendorAccess) => void,
): Promise<{ records: unknown[]; last: boolean }> {
  let answer = await send(deps, access, events, request);
  if (answer.status === 401) {
    const fresh = await renewedAccess(deps, caller, access, deps.limits.renewalWaitMs);
    // Not renewed, or renewed into credentials the vendor refused (the instance is invalid now): not sent again.
    if (fresh === undefined || !fresh.valid) throw new VendorFailure("the vendor refused the credentials and they could not be renewed");
    renewed(fresh);
    answer = await send(deps, fresh, events, request);
  }
  if (answer.status === 429 || answer.status >= 500) {
    throw new VendorFailure(`the vendor answered ${answer.status}`, retryAfterOf(answer.headers["retry-after"]));
  }
  if (answer.status !== 200) throw new VendorFailure(`the vendor answered ${answer.status}`);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new VendorFailure("the vendor's answer is not JSON");
  }
  const pointer = events.records.replace("{resource}", request.resource);
  const records = valueAt(body, pointer);
  if (!Array.isArray(records)) throw new VendorFailure(`the vendor's answer has no list of records at ${pointer}`);
  if (records.length > maxRecordsPerPage) throw new VendorFailure(`the vendor answered more than ${maxRecordsPerPage} records in one page`);
  return { records, last: !nextPageFollows(events, body, answer.headers.link) };
}

/** Whether the vendor says a page follows: a next offset in the answer, or a `Link` header naming `rel="next"`. */
function nextPageFollows(events: PollingEvents, body: unknown, link: string | string[] | undefined): boolean {
  if (events.nextPage === "link-header") {
    return (Array.isArray(link) ? link : [link ?? ""]).some((value) => /;\s*rel="?next"?\s*(?:[;,]|$)/i.test(value));
  }
  const nextOffset = events.nextOffset === undefined ? undefined : valueAt(body, events.nextOffset);
  return typeof nextOffset === "number" && nextOffset >= 0;
}

async function send(
  deps: PollInstanceDeps,
  access: VendorAccess,
  events: PollingEvents,
  request: PageRequest,
): Promise<{ status: number; headers: Record<string, string | string[]>; text: string }> {
  const url = pageUrl(access, events, request);
  const refusal = originRefusal({ url }, access.credentials.acceptedOrigin);
  if (refusal !== undefined) throw new VendorFailure(refusal);
  const { headers } = credentialPlacement(access.connector.key, access.api.auth, access.credentials.scope, url);
  const deadline = deadlineSignal(url.host, Math.max(0, Math.min(deps.limits.timeoutMs, request.deadline - Date.now())));
  try {
    const response = await deps.stream({
      method: "GET",
      url,
      headers: { accept: "application/json", ...headers },
      body: null,
      signal: deadline.signal,
    });
    const text = await readCapped(response.body, deps.limits.responseMaxBytes);
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (error instanceof VendorFailure) throw error;
    throw new VendorFailure(`the vendor could not be reached: ${(error as Error).message}`);
  } finally {
    deadline.clear();
  }
}

/** The page's URL: the API's base, the resource's path, the query's templates over the configuration and the poll's values. */
function pageUrl(access: VendorAccess, events: PollingEvents, request: PageRequest): URL {
  const { connector, credentials } = access;
  const chosen = credentials.scope.values["bulk.query.operator"] ?? "";
  const operators = events.operators ?? {};
  const operator = Object.hasOwn(operators, chosen) ? operators[chosen]! : (Object.values(operators)[0] ?? "");
  // `>`, or a filter not known to include its own second, is asked from the second before the
  // checkpoint: the vendor's dates are to the second, and the records of the checkpoint's own
  // second not sent yet must come back.
  const since = chosen === ">" || events.operators === undefined ? request.since - 1000 : request.since;
  const scope = {
    values: {
      ...credentials.scope.values,
      resource: request.resource,
      since: sinceParameter(since),
      operator,
      offset: String(request.offset),
      page: String(request.page),
    },
    templates: credentials.scope.templates,
  };
  const base = expandUrl(connector.key, access.api.baseUrl, credentials.scope);
  const url = new URL(
    `${base.origin}${base.pathname.replace(/\/$/, "")}${events.path.replace("{resource}", encodeURIComponent(request.resource))}`,
  );
  for (const [name, value] of Object.entries(events.query)) {
    url.searchParams.append(expandTemplate(connector.key, name, scope), expandTemplate(connector.key, value, scope));
  }
  return url;
}

async function readCapped(body: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) {
      body.destroy();
      throw new VendorFailure(`the vendor's answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function retryAfterOf(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * A record nested deeper than this is sent without its fields, as one too large is: JSON.parse
 * reads any depth, but JSON.stringify recurses, and some thousand levels overflow its stack (the
 * poll failed, every time, and the instance's changes stopped).
 */
export const maxRecordDepth = 64;

/** Whether `value` nests objects or arrays deeper than `limit`, found without recursion. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * A change as its event's draft: the record as the vendor gave it, or none (`recordTooLarge`) past
 * `recordMaxBytes` or `maxRecordDepth` (a vendor webhook's post is drafted here too: vendor-hooks/).
 */
export function draftOf(
  change: VendorChange,
  instanceId: number,
  resource: string,
  callbackUrl: string,
  recordMaxBytes: number,
): EventDraft {
  const fits = !nestedDeeperThan(change.record, maxRecordDepth) && Buffer.byteLength(JSON.stringify(change.record)) <= recordMaxBytes;
  const data: VendorRecordChange = {
    instanceId,
    resource,
    recordId: change.recordId,
    changedAt: new Date(change.changedAt).toISOString(),
    record: fits ? change.record : null,
    ...(fits ? {} : { recordTooLarge: true as const }),
  };
  return { type: change.type, notification: { data, callbackUrl } };
}
