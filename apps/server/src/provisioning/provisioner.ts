// Provisioning: checks an instance's credentials with its vendor as the spec declares
// (x-connector.credentialCheck), keeps what the vendor issues (SugarCRM's OAuth tokens) and
// refreshes it before it expires. PROVISIONING picks the vendor: simulated (sandbox, the
// default), the real one through the outbound sender (live), or none at all (off).
import type { RequestCheck } from "@instances-api/spec-tools";
import type { Connector } from "../connectors/registry.js";
import { OutboundError, type OutboundRequest, type OutboundResponse, type OutboundSend } from "../outbound/outbound.js";
import { AddressNotAllowedError, CredentialsRefusedError, VendorTimeoutError, VendorUnavailableError } from "./errors.js";
import {
  appendInteractions,
  interaction,
  type InteractionOutcome,
  type InteractionStep,
  type ProvisionInteraction,
} from "./interactions.js";
import { valueAt } from "./json-pointer.js";
import { scrubber } from "./scrubber.js";
import { simulatedVendor } from "./simulated-vendor.js";
import type { ProvisioningState } from "./state.js";
import { reachableNames, type TemplateScope } from "./templates.js";
import { checkRequest, passwordGrantRequest, refreshGrantRequest, type VendorRequest } from "./vendor-requests.js";

/** Which vendor checks credentials: a simulated one (the default), the real one, or none. */
export type ProvisioningMode = "sandbox" | "live" | "off";
export const provisioningModes: readonly ProvisioningMode[] = ["sandbox", "live", "off"];

export interface ProvisionerOptions {
  mode: ProvisioningMode;
  /** The sender in live mode (the outbound guard); unused otherwise. */
  outbound?: OutboundSend;
  /** How long a vendor has to answer one request. */
  timeoutMs: number;
  /** How much later a refresh that failed (other than a refusal) is tried again. */
  refreshRetryMs: number;
  now?: () => number;
}

/** What a check needs to know about an instance. */
export interface InstanceCredentials {
  connector: Connector;
  /**
   * What templates may name: platform entries, defaults, the caller's entries (secrets in clear),
   * what the vendor issued; and which of them are the platform's own templates.
   */
  scope: TemplateScope;
  /** The instance's secret values: the sandbox's magic values are among them; every vendor message is scrubbed of them. */
  secrets: readonly string[];
  /**
   * Where stored secrets were accepted (an origin): a request to any other origin is refused
   * before it is sent. Undefined when the caller has just sent every secret the check sends.
   */
  acceptedOrigin: string | undefined;
}

type Verdict =
  | { kind: "accepted"; response: OutboundResponse }
  | { kind: "refused"; status: number; message: string }
  | { kind: "failed"; reason: "unreachable" | "timeout" | "address-not-allowed" | "vendor-error"; status?: number; message: string };

/** How an answer is judged: by its status, and for some vendors by a value in its body. */
type Judged = Pick<RequestCheck, "accepted" | "refused" | "acceptedBody">;

interface Exchange {
  verdict: Verdict;
  interaction: ProvisionInteraction;
  request: OutboundRequest;
}

/**
 * The one place that decides whether a request may carry an instance's stored secrets: only to
 * the origin they were accepted at. A refusal, in words, or undefined when it may go.
 */
export function originRefusal(request: Pick<OutboundRequest, "url">, acceptedOrigin: string | undefined): string | undefined {
  if (acceptedOrigin === undefined || request.url.origin === acceptedOrigin) return undefined;
  return `the stored credentials were accepted at ${acceptedOrigin} and are sent nowhere else: send them again with the new address`;
}

/** What a grant issued: nothing, for a connector whose check issues no tokens. */
interface IssuedTokens {
  issued: Record<string, string>;
  issuedSecrets: Record<string, string>;
  refreshDueAt: number | null;
  expiresAt?: number;
}
const noTokens: IssuedTokens = { issued: {}, issuedSecrets: {}, refreshDueAt: null };

/** A token is refreshed this much before it expires: a tenth of its life, at most five minutes. */
export function refreshMargin(periodMs: number): number {
  return Math.min(300_000, Math.floor(periodMs / 10));
}

export type Provisioner = ReturnType<typeof provisioner>;

export function provisioner({ mode, outbound, timeoutMs, refreshRetryMs, now = Date.now }: ProvisionerOptions) {
  if (mode === "live" && !outbound) throw new Error("live provisioning needs an outbound sender");

  /** Sends one request to the vendor (or the sandbox) and judges its answer; secrets blotted out of every word kept. */
  async function verdictOf(input: InstanceCredentials, request: OutboundRequest, judged: Judged): Promise<Verdict> {
    const { accepted, refused, acceptedBody } = judged;
    const scrub = scrubber(input.secrets);
    const refusal = originRefusal(request, input.acceptedOrigin);
    if (refusal !== undefined) return { kind: "failed", reason: "address-not-allowed", message: refusal };
    const send = mode === "sandbox" ? simulatedVendor(input.secrets) : outbound!;
    try {
      const response = await send({ ...request, timeoutMs });
      if (accepted.includes(response.status)) {
        // The sandbox's simulated vendor speaks by status alone, for every connector.
        if (acceptedBody === undefined || mode === "sandbox") return { kind: "accepted", response };
        return bodyVerdict(response, acceptedBody, scrub);
      }
      if (refused.includes(response.status)) return { kind: "refused", status: response.status, message: scrub(vendorMessage(response)) };
      return {
        kind: "failed",
        reason: "vendor-error",
        status: response.status,
        message: scrub(`it answered HTTP ${response.status}: ${vendorMessage(response)}`),
      };
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      const reason = error.reason === "tls" ? "unreachable" : error.reason;
      return { kind: "failed", reason, message: scrub(error.message) };
    }
  }

  async function exchange(
    step: InteractionStep,
    input: InstanceCredentials,
    vendorRequest: VendorRequest,
    judged: Judged,
  ): Promise<Exchange> {
    const started = new Date(now());
    const { recordedPath, ...request } = vendorRequest;
    const verdict = await verdictOf(input, request, judged);
    const outcome: InteractionOutcome = verdict.kind === "failed" ? verdict.reason : verdict.kind;
    const status =
      verdict.kind === "accepted" ? verdict.response.status : verdict.kind === "refused" ? verdict.status : (verdict.status ?? null);
    const detail = verdict.kind === "accepted" ? undefined : verdict.message;
    const recorded = { method: request.method, host: request.url.host, path: recordedPath };
    return {
      verdict,
      request,
      interaction: interaction(step, recorded, started, mode === "sandbox", {
        status,
        outcome,
        ...(detail === undefined ? {} : { detail }),
      }),
    };
  }

  /** The vendor's tokens from a grant's answer, or undefined when the answer holds none. */
  function issuedTokens(input: InstanceCredentials, answer: OutboundResponse, earlierRefreshToken?: string): IssuedTokens | undefined {
    const check = input.connector.credentialCheck;
    if (check.type !== "oauth2-password") return noTokens;
    const body = (jsonOf(answer.body) ?? {}) as Record<string, unknown>;
    const accessToken = body.access_token;
    const refreshToken = typeof body.refresh_token === "string" ? body.refresh_token : earlierRefreshToken;
    if (typeof accessToken !== "string" || !accessToken || !refreshToken) return undefined;
    const issuedAt = now();
    const expiresIn = Number(body.expires_in);
    const interval = check.tokens.refreshInterval ? Number(input.scope.values[check.tokens.refreshInterval]) : NaN;
    const periods = [expiresIn, interval].filter((s) => Number.isFinite(s) && s > 0).map((s) => s * 1000);
    const period = periods.length ? Math.min(...periods) : undefined;
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : undefined;
    return {
      issued: { [check.tokens.issuedAt]: String(issuedAt) },
      issuedSecrets: { [check.tokens.accessToken]: accessToken, [check.tokens.refreshToken]: refreshToken },
      refreshDueAt: period === undefined ? null : issuedAt + period - refreshMargin(period),
      ...(lifetime === undefined ? {} : { expiresAt: issuedAt + lifetime }),
    };
  }

  /** One exchange of the declared check (or grant), judged, with the tokens an accepted one issued. */
  async function attempt(
    step: InteractionStep,
    input: InstanceCredentials,
    request: VendorRequest,
    earlierRefreshToken?: string,
  ): Promise<Exchange & { tokens: IssuedTokens }> {
    const check = input.connector.credentialCheck as Exclude<Connector["credentialCheck"], { type: "none" }>;
    const done = await exchange(step, input, request, check);
    if (done.verdict.kind !== "accepted") return { ...done, tokens: noTokens };
    const tokens = issuedTokens(input, done.verdict.response, earlierRefreshToken);
    if (tokens) return { ...done, tokens };
    const missing = step === "refresh" ? "an access_token" : "an access_token and a refresh_token";
    return {
      ...done,
      verdict: { kind: "failed", reason: "vendor-error", status: done.verdict.response.status, message: `its answer holds no ${missing}` },
      tokens: noTokens,
    };
  }

  /** The state an accepted exchange leads to: the tokens it issued, at the origin it went to. */
  function acceptedState(done: Exchange & { tokens: IssuedTokens }, interactions: ProvisionInteraction[]): ProvisioningState {
    return { valid: true, interactions, ...done.tokens, acceptedOrigin: done.request.url.origin };
  }

  /** Runs the declared check once; the verdict and the state it leads to. */
  async function run(
    input: InstanceCredentials,
    earlier: ProvisioningState | undefined,
  ): Promise<{ verdict: Verdict; state: ProvisioningState; request?: OutboundRequest }> {
    const check = input.connector.credentialCheck;
    const interactionsBefore = earlier?.interactions ?? [];
    if (check.type === "none") {
      return {
        verdict: { kind: "accepted", response: { status: 200, headers: {}, body: "", truncated: false } },
        state: { valid: true, interactions: interactionsBefore, ...noTokens },
      };
    }
    const key = input.connector.key;
    const done =
      check.type === "request"
        ? await attempt("credential-check", input, checkRequest(key, check, input.scope))
        : await attempt("token", input, passwordGrantRequest(key, check, input.scope));
    const interactions = appendInteractions(interactionsBefore, [done.interaction]);
    const { verdict } = done;
    if (verdict.kind === "accepted") return { verdict, request: done.request, state: acceptedState(done, interactions) };
    return {
      verdict,
      request: done.request,
      state: {
        valid: false,
        invalidReason: reasonOf(input.connector, verdict),
        interactions,
        ...noTokens,
        // Refused here, the credentials stay bound to where they were accepted before.
        ...(input.acceptedOrigin === undefined ? {} : { acceptedOrigin: input.acceptedOrigin }),
      },
    };
  }

  return {
    mode,

    /**
     * The caller's entries that a check builds its URL from or sends other than secrets (SugarCRM's
     * site.url, through the platform's oauth.token.url, and username; Freshservice's subdomain),
     * and the name the secrets are sent as even when it is a secret itself (Freshservice's username,
     * often its API key): a change of one moves where, or as whom, the stored secrets go.
     */
    boundEntries(connector: Connector, scope: TemplateScope): Set<string> {
      const check = connector.credentialCheck;
      const sent = reachableNames(JSON.stringify(check), scope);
      const identity = reachableNames(identityTemplate(check) ?? "", scope);
      return new Set([...sent].filter((name) => !scope.templates.has(name) && (!connector.secretKeys.has(name) || identity.has(name))));
    },

    /** The caller's secret entries the check sends (not those the vendor issues): what a move of the address needs again. */
    sentSecrets(connector: Connector, scope: TemplateScope): Set<string> {
      const callerSecrets = new Set(connector.entries.filter((entry) => entry.secret).map((entry) => entry.key));
      const sent = reachableNames(JSON.stringify(connector.credentialCheck), scope);
      return new Set([...sent].filter((name) => callerSecrets.has(name)));
    },

    /** The entries a check sends or builds its URL from, and every secret: changing one re-provisions. */
    credentialsChanged(connector: Connector, before: TemplateScope, after: TemplateScope): boolean {
      const names = new Set(connector.secretKeys);
      for (const name of reachableNames(JSON.stringify(connector.credentialCheck), before)) names.add(name);
      for (const name of reachableNames(JSON.stringify(connector.credentialCheck), after)) names.add(name);
      return [...names].some((name) => (before.values[name] ?? null) !== (after.values[name] ?? null));
    },

    /**
     * Checks the credentials before an instance is created or changed: the state to keep, or the
     * error to answer (refused: 422; unreachable or failing: 502; too slow: 504; a refused
     * address: 400). Undefined when provisioning is off.
     */
    async provision(input: InstanceCredentials, earlier?: ProvisioningState): Promise<ProvisioningState | undefined> {
      if (mode === "off") return undefined;
      const { verdict, state, request } = await run(input, earlier);
      if (verdict.kind === "accepted") return state;
      throw errorOf(input.connector, verdict, request);
    },

    /** Checks again on demand: the outcome, whatever it is, is the new state. Undefined when off. */
    async check(input: InstanceCredentials, earlier?: ProvisioningState): Promise<ProvisioningState | undefined> {
      if (mode === "off") return undefined;
      return (await run(input, earlier)).state;
    },

    /**
     * Renews the vendor's tokens with the refresh-token grant. Refused (the refresh token was
     * consumed by an answer that was lost, or revoked): the password grant once more from the
     * stored credentials, both steps recorded; refused again, the instance becomes invalid and is
     * not refreshed until it is checked anew. Failed otherwise (unreachable, slow): invalid until
     * a retry a minute later succeeds.
     */
    async refresh(input: InstanceCredentials, earlier: ProvisioningState): Promise<ProvisioningState> {
      const check = input.connector.credentialCheck;
      const refreshToken = check.type === "oauth2-password" ? earlier.issuedSecrets[check.tokens.refreshToken] : undefined;
      if (check.type !== "oauth2-password" || !refreshToken) return { ...earlier, refreshDueAt: null };
      const key = input.connector.key;
      const steps = [await attempt("refresh", input, refreshGrantRequest(key, check, input.scope, refreshToken), refreshToken)];
      if (steps[0]!.verdict.kind === "refused") steps.push(await attempt("token", input, passwordGrantRequest(key, check, input.scope)));
      const last = steps.at(-1)!;
      const interactions = appendInteractions(
        earlier.interactions,
        steps.map((step) => step.interaction),
      );
      if (last.verdict.kind === "accepted") return acceptedState(last, interactions);
      return {
        ...earlier,
        valid: false,
        invalidReason: reasonOf(input.connector, last.verdict, "refresh"),
        interactions,
        refreshDueAt: last.verdict.kind === "refused" ? null : now() + refreshRetryMs,
      };
    },
  };
}

/** The template of the name a check sends the secrets as: a basic username, a password grant's username. */
function identityTemplate(check: Connector["credentialCheck"]): string | undefined {
  if (check.type === "oauth2-password") return check.username;
  if (check.type === "request" && check.auth.type === "basic") return check.auth.username;
  return undefined;
}

function reasonOf(connector: Connector, verdict: Exclude<Verdict, { kind: "accepted" }>, what = "check"): string {
  const name = connector.catalog.name;
  if (verdict.kind === "refused")
    return `${name} refused the credentials${what === "refresh" ? " when the token was refreshed and granted anew" : ""} (HTTP ${verdict.status}): ${verdict.message}`;
  if (verdict.reason === "timeout") return `${name} did not answer the ${what} in time`;
  return `${name} could not be asked (${verdict.reason}): ${verdict.message}`;
}

function errorOf(connector: Connector, verdict: Exclude<Verdict, { kind: "accepted" }>, request: OutboundRequest | undefined) {
  const name = connector.catalog.name;
  if (verdict.kind === "refused") return new CredentialsRefusedError(connector.key, name, verdict.status, verdict.message);
  if (verdict.reason === "timeout") return new VendorTimeoutError(connector.key, name);
  if (verdict.reason === "address-not-allowed")
    return new AddressNotAllowedError(connector.key, request?.url.host ?? "the vendor", verdict.message);
  return new VendorUnavailableError(connector.key, name, verdict.message, verdict.status);
}

/**
 * The verdict of an answer with an accepted status from a vendor that says "refused" inside it
 * (`acceptedBody`): the expected value accepts, another value refuses (with the vendor's message
 * where it gives one), and an answer where the value cannot be read at all is the vendor's fault.
 */
function bodyVerdict(response: OutboundResponse, expected: NonNullable<Judged["acceptedBody"]>, scrub: (text: string) => string): Verdict {
  const body = jsonOf(response.body);
  const value = valueAt(body, expected.pointer);
  if (value === expected.equals) return { kind: "accepted", response };
  if (value === undefined) {
    return {
      kind: "failed",
      reason: "vendor-error",
      status: response.status,
      message: `its answer (HTTP ${response.status}) has no ${expected.pointer} to say whether it accepted the credentials`,
    };
  }
  const said = expected.messagePointer === undefined ? undefined : valueAt(body, expected.messagePointer);
  // Only a plain value is quoted: an object's text may nest too deep for JSON.stringify (a RangeError).
  const shown = value === null || typeof value !== "object" ? JSON.stringify(value) : Array.isArray(value) ? "an array" : "an object";
  const message = typeof said === "string" && said.length > 0 ? said : `${expected.pointer} is ${shown}`;
  return { kind: "refused", status: response.status, message: scrub(message) };
}

/** What the vendor said, from the usual places in a JSON error body, else nothing more than its status. */
function vendorMessage(response: OutboundResponse): string {
  const body = jsonOf(response.body);
  if (body === undefined) return "no reason given";
  const record = (body ?? {}) as Record<string, unknown>;
  const nested = ((record.requestError as Record<string, unknown> | undefined)?.serviceException ?? {}) as Record<string, unknown>;
  const said = [record.error_description, record.error_message, record.message, nested.text, record.description, record.error].find(
    (v): v is string => typeof v === "string" && v.length > 0,
  );
  return said ?? "no reason given";
}

/** A vendor's answer read as JSON, or undefined when it is not JSON: vendors answer HTML error pages too. */
function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
