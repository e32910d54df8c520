// proxyInstanceRequest: an application's request, aimed at the vendor's own API, sent there with
// the instance's credentials put in as the connector declares (spec: x-connector.api), and the
// vendor's answer handed back as it came. In order: the instance and what its credentials allow
// (instances/operations/vendorAccess.ts), the vendor's token renewed first when it is due, the
// URL below the API's base and at the origin the credentials were accepted at, the caller's
// headers filtered (proxied-headers.ts), the body bounded, then one exchange through the
// outbound guard; a 401 of an OAuth vendor to a request that can be sent again renews the token
// and sends it once more. In the sandbox nothing is sent: the answer says what would have been.
import { finished as finishedStream, Readable, Transform } from "node:stream";
import { finished } from "node:stream/promises";
import type { Logger } from "pino";
import type { Caller } from "../accounts/store.js";
import { InvalidRequestError } from "../errors.js";
import { jsonBodyMaxBytes } from "../http/json-body.js";
import { renewedAccess, vendorAccess, type VendorAccess, type VendorAccessDeps } from "../instances/operations/vendorAccess.js";
import type { OutboundStream, OutboundStreamResponse } from "../outbound/guarded-stream.js";
import { deadlineSignal } from "../outbound/guarded-stream.js";
import { outboundFailure } from "../outbound/guarded-sender.js";
import { OutboundError, unreachableError } from "../outbound/outbound.js";
import { originRefusal } from "../provisioning/provisioner.js";
import { scrubber } from "../provisioning/scrubber.js";
import { credentialPlacement } from "../provisioning/vendor-requests.js";
import { CredentialsNotUsableError, ProxyBodyTooLargeError, ProxyVendorTimeoutError, ProxyVendorUnavailableError } from "./errors.js";
import { OrganizationBuffersFullError, ProxyBuffersFullError, type BufferBudget, type BufferHolder } from "./buffer-budget.js";
import type { inFlightCalls } from "./in-flight.js";
import { clampedRetryAfter, forwardedRequestHeaders, returnedResponseHeaders } from "./proxied-headers.js";
import type { ProxiedCall, RecentCalls } from "./recent-calls.js";
import { vendorUrl } from "./vendor-target.js";

/** The proxy's limits (config.ts: PROXY_*). */
export interface ProxyLimits {
  requestMaxBytes: number;
  responseMaxBytes: number;
  /** The whole exchange: connect, send, the vendor's answer to its last byte. */
  timeoutMs: number;
  retryAfterMaxSeconds: number;
  /** How long a call waits for another replica's renewal of an expired token. */
  renewalWaitMs: number;
}

export interface ProxyDeps extends VendorAccessDeps {
  /** The guarded stream in live mode (unused in the sandbox). */
  stream: OutboundStream;
  limits: ProxyLimits;
  inFlight: ReturnType<typeof inFlightCalls>;
  /** The bytes of bodies read whole, across every call on this replica. */
  buffers: BufferBudget;
  recentCalls: RecentCalls;
  logger: Logger;
}

export interface ProxyRequest {
  method: string;
  /** After `/proxy/`, as sent (still percent-encoded). */
  vendorPath: string;
  /** `?…` as sent, or empty. */
  search: string;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** The secrets the caller authenticated with: a header carrying one is not forwarded. */
  callerSecrets: readonly string[];
  /** Aborted when the caller goes away: the vendor's exchange is abandoned. */
  signal: AbortSignal;
}

export interface ProxyAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Readable;
  /** Called once the answer was sent (or abandoned): records the call and frees its slots. */
  finish(aborted: boolean): void;
}

const idempotentMethods = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
const bodilessMethods = new Set(["GET", "HEAD"]);
const methodsWithContent = new Set(["POST", "PUT", "PATCH"]);
const masked = "********";

export async function proxyInstanceRequest(deps: ProxyDeps, caller: Caller, id: number, request: ProxyRequest): Promise<ProxyAnswer> {
  const started = Date.now();
  let access = await vendorAccess(deps, caller, id);
  const leave = deps.inFlight.enter(caller.organizationId, id);
  const held = deps.buffers.holder(caller.organizationId);
  let deadline: ReturnType<typeof deadlineSignal> | undefined;
  let retried = false;
  let body: Body | undefined;
  const record = (call: Pick<ProxiedCall, "status" | "outcome" | "responseBytes"> & { url?: URL }) => {
    leave();
    held.release();
    deadline?.clear();
    const proxied: ProxiedCall = {
      at: new Date(started).toISOString(),
      method: request.method,
      host: call.url?.host ?? "",
      path: call.url?.pathname ?? "",
      status: call.status,
      outcome: call.outcome,
      durationMs: Date.now() - started,
      requestBytes: body?.bytes ?? 0, // a streamed body is counted as it goes: read when the call ends
      responseBytes: call.responseBytes,
      retried,
    };
    deps.recentCalls.record(caller.organizationId, id, proxied);
    // Named fields only: no header, no query, no body can reach the line.
    deps.logger.info({ proxied: { organizationId: caller.organizationId, instanceId: id, ...proxied } }, "proxied call");
  };
  let url: URL | undefined;
  try {
    if (access.renewalDue) access = (await renewedAccess(deps, caller, access, deps.limits.renewalWaitMs)) ?? access;
    const target = targetOf(access, request);
    url = target; // recorded by the catch below too; the closures take the const
    const oauth = access.connector.credentialCheck.type === "oauth2-password";
    const replayable = oauth && idempotentMethods.has(request.method);
    const placed = placementFor(access, url);
    body = await bodyOf(request, deps.limits.requestMaxBytes, placed.json, replayable, held);
    const { content } = body;
    const headersFor = (current: VendorAccess) => {
      const { headers } = placementFor(current, target);
      const forwarded = forwardedRequestHeaders(request.headers, request.callerSecrets);
      if (!(content instanceof Readable)) delete forwarded["content-length"]; // undici frames bytes itself
      if (placed.json !== undefined) {
        forwarded["content-type"] = "application/json";
        // The answer is read and checked for the key (echoedAnswer): asked for as it is, uncompressed.
        forwarded["accept-encoding"] = "identity";
      }
      return { ...forwarded, ...headers };
    };

    if (deps.provisioning.mode === "sandbox") {
      // Read to its end, sent nowhere: counted against the cap (413 beyond), as in live mode.
      if (content instanceof Readable) await finished(content.resume());
      const answer = simulatedAnswer(request, url, headersFor(access), Object.keys(placed.headers), placed.json !== undefined);
      return finishedBy(answer, (bytes) => record({ url, status: 200, outcome: "simulated", responseBytes: bytes }));
    }

    deadline = deadlineSignal(url.host, deps.limits.timeoutMs, request.signal);
    const { signal } = deadline;
    const sendAs = (current: VendorAccess) =>
      deps.stream({ method: request.method, url: target, headers: headersFor(current), body: content, signal });
    let response = await sendAs(access);
    if (response.status === 401 && replayable && body.replayable) {
      const renewed = await renewedAccess(deps, caller, access, deps.limits.renewalWaitMs);
      if (renewed && sameTarget(renewed, request, url) && placementOf(renewed, url) !== placementOf(access, url)) {
        response.body.on("error", () => undefined).destroy(); // the refused answer is not passed on
        retried = true;
        access = renewed;
        response = await sendAs(access);
      }
    }
    // The answer may have ended badly before it is passed on: the deadline ran out, or the vendor
    // cut the connection, while a renewal was awaited after its 401. Piped on, a body destroyed
    // already would neither end nor fail: the caller would wait forever, holding the call's slots.
    if (response.body.destroyed && !response.body.readableEnded) {
      const cut = response.body.errored;
      throw cut instanceof OutboundError ? cut : unreachableError(url.host);
    }
    return await answerOf(deps, access, response, { method: request.method, host: url.host, held, signal }, (outcome) =>
      record({
        url,
        status: response.status,
        outcome: outcome.tooLarge ? "too-large" : outcome.aborted ? "aborted" : "answered",
        responseBytes: outcome.responseBytes,
      }),
    );
  } catch (caught) {
    // A streamed body over the cap makes undici give up on the vendor: the caller is told why (413), not 502.
    const error = body?.failure instanceof ProxyBodyTooLargeError ? body.failure : caught;
    const outcome = request.signal.aborted
      ? "aborted"
      : error instanceof OutboundError
        ? error.reason === "timeout"
          ? "timeout"
          : "unreachable"
        : "refused";
    record({ url, status: null, outcome, responseBytes: 0 });
    throw asProblem(error, access);
  }
}

function targetOf(access: VendorAccess, request: ProxyRequest): URL {
  const url = vendorUrl(access.connector.key, access.api, access.credentials.scope, request.vendorPath, request.search);
  const refusal = originRefusal({ url }, access.credentials.acceptedOrigin);
  if (refusal !== undefined) throw new CredentialsNotUsableError(access.connector.key, access.id, refusal);
  return url;
}

/** A renewal that changed the address (a change of the instance in between) sends nothing more. */
function sameTarget(access: VendorAccess, request: ProxyRequest, url: URL): boolean {
  try {
    return targetOf(access, request).href === url.href;
  } catch {
    return false;
  }
}

/** Where the instance's credentials go in a request to `url`: headers, or fields of a JSON body. */
const placementFor = (access: VendorAccess, url: URL) =>
  credentialPlacement(access.connector.key, access.api.auth, access.credentials.scope, url);

/** Compared to learn whether a renewal changed what a request would carry. */
const placementOf = (access: VendorAccess, url: URL) => JSON.stringify(placementFor(access, url));

interface Body {
  /** Bytes when read whole (to put the credentials in, or to send again), else the caller's stream, counted. */
  content: Readable | Buffer | null;
  bytes: number;
  /** Whether it can be sent a second time. */
  replayable: boolean;
  /** Why a streamed body failed (over the cap), once it did. */
  failure?: Error;
}

/** The request's body within the cap: read whole when it must be changed or may be sent twice, else streamed on. */
async function bodyOf(
  request: ProxyRequest,
  maxBytes: number,
  credentialsJson: Record<string, unknown> | undefined,
  replay: boolean,
  held: BufferHolder,
): Promise<Body> {
  const declared = Number(request.headers["content-length"] ?? NaN);
  if (declared > maxBytes) throw new ProxyBodyTooLargeError(maxBytes);
  const hasBody = !bodilessMethods.has(request.method) && (declared > 0 || request.headers["transfer-encoding"] !== undefined);
  if (!hasBody && credentialsJson === undefined) {
    request.body.resume();
    return { content: null, bytes: 0, replayable: true };
  }
  if (credentialsJson !== undefined) {
    // Content on a GET, a HEAD or a DELETE has no defined meaning (RFC 9110 §9.3): a server or a
    // proxy may ignore it, or read it as the next request on a connection other tenants share.
    if (!methodsWithContent.has(request.method)) {
      throw new InvalidRequestError(
        `This connector's API takes the credentials in a JSON body, which a ${request.method} does not carry: send a POST`,
      );
    }
    // Parsed, so held to the API's own JSON limit rather than PROXY_REQUEST_MAX_BYTES: 10 MiB of
    // `[{},{},...]` costs a second or two of the event loop and 250 MB of heap to parse, every
    // tenant's calls waiting meanwhile.
    const jsonMaxBytes = Math.min(maxBytes, jsonBodyMaxBytes);
    if (declared > jsonMaxBytes) throw new ProxyBodyTooLargeError(jsonMaxBytes);
    const text = hasBody ? (await readWhole(request.body, jsonMaxBytes, held)).toString("utf8") : "";
    let sent: unknown = {};
    if (text.trim() !== "") {
      try {
        sent = JSON.parse(text);
      } catch {
        throw new InvalidRequestError("This connector's API takes a JSON object as the body, and the body is not JSON");
      }
    }
    if (sent === null || typeof sent !== "object" || Array.isArray(sent)) {
      throw new InvalidRequestError("This connector's API takes a JSON object as the body");
    }
    let merged: Buffer;
    try {
      merged = Buffer.from(JSON.stringify(mergedOver(sent as Record<string, unknown>, credentialsJson)));
    } catch {
      // JSON.parse reads any depth, JSON.stringify recurses: some thousand levels overflow its stack.
      throw new InvalidRequestError("This connector's API takes a JSON object as the body, and this one is nested too deep to send on");
    }
    return { content: merged, bytes: merged.length, replayable: true };
  }
  if (replay) {
    const whole = await readWhole(request.body, maxBytes, held);
    return { content: whole, bytes: whole.length, replayable: true };
  }
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      body.bytes += chunk.length;
      if (body.bytes > maxBytes) return done(new ProxyBodyTooLargeError(maxBytes));
      done(null, chunk);
    },
  });
  request.body.pipe(counted);
  // The caller going away mid-body ends the stream too (pipe alone would leave it waiting forever).
  // Not a pipeline: over the cap, that would destroy the caller's request, and the 413 with it.
  finishedStream(request.body, (error) => error && counted.destroy(error));
  const body: Body = { content: counted, bytes: 0, replayable: false };
  // Always listened to: an error no listener takes is thrown out of the event loop, and ends the
  // process (in the sandbox nothing else reads this stream).
  counted.on("error", (error) => (body.failure ??= error));
  return body;
}

/**
 * A body read to its end within `maxBytes` (413 past it), its bytes counted against the replica's
 * budget (503 past it, 429 past the organization's quarter of it).
 */
async function readWhole(stream: Readable, maxBytes: number, held: BufferHolder): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new ProxyBodyTooLargeError(maxBytes);
    held.take(chunk.length);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The caller's JSON with the credentials' entries put in, over whatever the caller had there. */
function mergedOver(sent: Record<string, unknown>, ours: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...sent };
  for (const [key, value] of Object.entries(ours)) {
    const theirs = out[key];
    out[key] =
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      theirs !== null &&
      typeof theirs === "object" &&
      !Array.isArray(theirs)
        ? mergedOver(theirs as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/** The vendor's answer as it goes back: its headers filtered, its body counted against the cap. */
async function answerOf(
  deps: ProxyDeps,
  access: VendorAccess,
  response: OutboundStreamResponse,
  exchange: { method: string; host: string; held: BufferHolder; signal: AbortSignal },
  finish: (outcome: { responseBytes: number; aborted: boolean; tooLarge: boolean }) => void,
): Promise<ProxyAnswer> {
  const max = deps.limits.responseMaxBytes;
  // An answer to HEAD declares the size of the GET's body and has none: nothing to hold to the cap.
  const declared = exchange.method === "HEAD" ? NaN : Number(response.headers["content-length"] ?? NaN);
  if (declared > max) {
    response.body.destroy();
    throw new ProxyVendorUnavailableError(access.connector.key, `its answer is over the proxy's ${max}-byte limit`);
  }
  const headers = returnedResponseHeaders(response.headers, access.credentials.secrets);
  headers["x-proxied-from"] = access.connector.key;
  if (response.status === 429 || response.status === 503) {
    const wait = clampedRetryAfter(response.headers["retry-after"], deps.limits.retryAfterMaxSeconds);
    if (wait !== undefined) headers["retry-after"] = String(wait);
  }
  if (access.api.auth.type === "body") return echoedAnswer(access, response, headers, exchange, finish);
  let bytes = 0;
  let tooLarge = false;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > max) {
        tooLarge = true;
        return done(new Error("the vendor's answer is over the proxy's limit"));
      }
      done(null, chunk);
    },
  });
  response.body.on("error", (error) => counted.destroy(error));
  // pipe() leaves its source as it is when the destination fails (over the cap, the caller gone):
  // the vendor's answer is given up too, or its connection stays busy, and undici's close waits on it.
  counted.on("error", () => response.body.destroy());
  counted.on("close", () => response.body.destroy());
  response.body.pipe(counted);
  return {
    status: response.status,
    headers,
    body: counted,
    finish: (aborted) => finish({ responseBytes: bytes, aborted: aborted || tooLarge, tooLarge }),
  };
}

const answerSliceBytes = 64 * 1024;

/**
 * The answer of a vendor whose credentials travel in the request's body (Taxify's key): a vendor
 * that repeats the body it was sent (an error quoting the request, an echo) would hand the key to
 * the caller, so the answer is read whole (within the JSON bodies' 1 MB) and every form of every
 * held secret is blotted out of it (provisioning/scrubber.ts) before it goes back. Not streamed,
 * then; one the proxy cannot read (compressed although asked for as it is, or larger) is a 502.
 */
async function echoedAnswer(
  access: VendorAccess,
  response: OutboundStreamResponse,
  headers: Record<string, string | string[]>,
  { host, held, signal }: { host: string; held: BufferHolder; signal: AbortSignal },
  finish: (outcome: { responseBytes: number; aborted: boolean; tooLarge: boolean }) => void,
): Promise<ProxyAnswer> {
  const encoding = String(response.headers["content-encoding"] ?? "identity").toLowerCase();
  let whole: Buffer;
  try {
    if (encoding !== "identity")
      throw new ProxyVendorUnavailableError(access.connector.key, "its answer came compressed, and cannot be checked for the key");
    whole = await readWhole(response.body, jsonBodyMaxBytes, held).catch((error: unknown) => {
      if (error instanceof ProxyBodyTooLargeError) {
        const why = `its answer is over the ${jsonBodyMaxBytes} bytes this connector's answers are checked within`;
        throw new ProxyVendorUnavailableError(access.connector.key, why);
      }
      // Not 503 with Retry-After: the vendor has carried the call out, and a retry would do it twice.
      if (error instanceof ProxyBuffersFullError || error instanceof OrganizationBuffersFullError) {
        const why = "its answer could not be held to be checked (PROXY_BUFFERED_MAX_BYTES is spent); the call itself was sent";
        throw new ProxyVendorUnavailableError(access.connector.key, why);
      }
      // The vendor cut its answer short or stalled in it, or the deadline ran out: as for any exchange.
      throw outboundFailure(error, signal, host);
    });
  } catch (error) {
    response.body.destroy();
    throw error;
  }
  const scrubbed = Buffer.from(scrubber(access.credentials.secrets, Number.POSITIVE_INFINITY)(whole.toString("utf8")));
  headers["content-length"] = String(scrubbed.length);
  // In slices, so that it ends only once the caller has taken it: a caller that stops reading is
  // cut at the deadline, as a streamed answer's is, rather than holding these bytes (and the
  // replica's budget) for as long as it keeps its connection open.
  const slices = Array.from({ length: Math.ceil(scrubbed.length / answerSliceBytes) }, (_, index) =>
    scrubbed.subarray(index * answerSliceBytes, (index + 1) * answerSliceBytes),
  );
  const body = Readable.from(slices);
  signal.addEventListener("abort", () => body.destroy(), { once: true });
  return {
    status: response.status,
    headers,
    body,
    finish: (aborted) => finish({ responseBytes: scrubbed.length, aborted, tooLarge: false }),
  };
}

/** The sandbox's answer: what would have been sent, the credentials' values masked. */
function simulatedAnswer(
  request: ProxyRequest,
  url: URL,
  headers: Record<string, string | string[]>,
  credentialHeaders: readonly string[],
  bodyHoldsCredentials: boolean,
): Omit<ProxyAnswer, "finish"> {
  const text = JSON.stringify({
    simulated: true,
    request: {
      method: request.method,
      url: url.href,
      addedHeaders: Object.fromEntries(credentialHeaders.map((name) => [name, masked])),
      forwardedHeaders: Object.keys(headers).filter((name) => !credentialHeaders.includes(name)),
      ...(bodyHoldsCredentials ? { body: "the JSON body, with the credentials put in (masked here)" } : {}),
    },
    note: "PROVISIONING=sandbox: nothing was sent to the vendor. Start the server with PROVISIONING=live to call it.",
  });
  const bytes = Buffer.from(text);
  return {
    status: 200,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(bytes.length),
      "x-proxied-from": "sandbox",
      "x-simulated": "true",
    },
    body: Readable.from([bytes]),
  };
}

function finishedBy(answer: Omit<ProxyAnswer, "finish">, done: (bytes: number) => void): ProxyAnswer {
  return { ...answer, finish: () => done(Number(answer.headers["content-length"] ?? 0)) };
}

function asProblem(error: unknown, access: VendorAccess): unknown {
  if (!(error instanceof OutboundError)) return error;
  if (error.reason === "timeout") return new ProxyVendorTimeoutError(access.connector.key, error.message.split(" ")[0] ?? "");
  return new ProxyVendorUnavailableError(access.connector.key, error.message);
}
