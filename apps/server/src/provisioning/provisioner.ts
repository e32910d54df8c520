// Provisioning: checks an instance's credentials with its vendor as the spec declares
// (x-connector.credentialCheck), keeps what the vendor issues (SugarCRM's OAuth tokens) and
// refreshes it before it expires. PROVISIONING picks the vendor: simulated (sandbox, the
// default), the real one through the outbound sender (live), or none at all (off).
import type { Connector } from "../connectors/registry.js";
import type { ProvisioningMode } from "../config.js";
import { cut } from "../errors.js";
import { OutboundError, type OutboundRequest, type OutboundResponse, type OutboundSend } from "../outbound/outbound.js";
import { AddressNotAllowedError, CredentialsRefusedError, VendorTimeoutError, VendorUnavailableError } from "./errors.js";
import {
  appendInteractions,
  interaction,
  type InteractionOutcome,
  type InteractionStep,
  type ProvisionInteraction,
} from "./interactions.js";
import { simulatedVendor } from "./simulated-vendor.js";
import type { ProvisioningState } from "./state.js";
import { reachableNames, type TemplateValues } from "./templates.js";
import { checkRequest, passwordGrantRequest, refreshGrantRequest } from "./vendor-requests.js";

export interface ProvisionerOptions {
  mode: ProvisioningMode;
  /** The sender in live mode (the outbound guard); unused otherwise. */
  outbound?: OutboundSend;
  /** How long a vendor has to answer one request. */
  timeoutMs?: number;
  /** How much later a refresh that failed (other than a refusal) is tried again; a minute by default. */
  refreshRetryMs?: number;
  now?: () => number;
}

/** What a check needs to know about an instance. */
export interface InstanceCredentials {
  connector: Connector;
  /** What templates may name: platform entries, defaults, the caller's entries (secrets in clear), what the vendor issued. */
  values: TemplateValues;
  /** The instance's secret values: the sandbox's magic values are among them; every vendor message is scrubbed of them. */
  secrets: readonly string[];
}

type Verdict =
  | { kind: "accepted"; response: OutboundResponse }
  | { kind: "refused"; status: number; message: string }
  | { kind: "failed"; reason: "unreachable" | "timeout" | "address-not-allowed" | "vendor-error"; status?: number; message: string };

interface Exchange {
  verdict: Verdict;
  interaction: ProvisionInteraction;
  request: OutboundRequest;
}

export const defaultVendorTimeoutMs = 10_000;
/** A token is refreshed this much before it expires: a tenth of its life, at most five minutes. */
export function refreshMargin(periodMs: number): number {
  return Math.min(300_000, Math.floor(periodMs / 10));
}

export type Provisioner = ReturnType<typeof provisioner>;

export function provisioner({
  mode,
  outbound,
  timeoutMs = defaultVendorTimeoutMs,
  refreshRetryMs = 60_000,
  now = Date.now,
}: ProvisionerOptions) {
  if (mode === "live" && !outbound) throw new Error("live provisioning needs an outbound sender");

  async function exchange(
    step: InteractionStep,
    input: InstanceCredentials,
    request: OutboundRequest,
    accepted: number[],
    refused: number[],
  ): Promise<Exchange> {
    const started = new Date(now());
    const simulated = mode === "sandbox";
    const send = simulated ? simulatedVendor(input.secrets) : outbound!;
    const scrub = scrubber(input.secrets);
    let verdict: Verdict;
    try {
      const response = await send({ ...request, timeoutMs });
      if (accepted.includes(response.status)) verdict = { kind: "accepted", response };
      else if (refused.includes(response.status))
        verdict = { kind: "refused", status: response.status, message: scrub(vendorMessage(response)) };
      else
        verdict = {
          kind: "failed",
          reason: "vendor-error",
          status: response.status,
          message: scrub(`it answered HTTP ${response.status}: ${vendorMessage(response)}`),
        };
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      const reason = error.reason === "tls" ? "unreachable" : error.reason;
      verdict = { kind: "failed", reason, message: scrub(error.message) };
    }
    const outcome: InteractionOutcome = verdict.kind === "failed" ? verdict.reason : verdict.kind;
    const status =
      verdict.kind === "accepted" ? verdict.response.status : verdict.kind === "refused" ? verdict.status : (verdict.status ?? null);
    const detail = verdict.kind === "accepted" ? undefined : verdict.message;
    return {
      verdict,
      request,
      interaction: interaction(step, request, started, simulated, { status, outcome, ...(detail === undefined ? {} : { detail }) }),
    };
  }

  /** The vendor's tokens from a grant's answer, or a failure when the answer holds none. */
  function issuedTokens(input: InstanceCredentials, answer: OutboundResponse, earlierRefreshToken?: string) {
    const check = input.connector.credentialCheck;
    if (check.type !== "oauth2-password") return { issued: {}, issuedSecrets: {}, refreshDueAt: null };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(answer.body) as Record<string, unknown>;
    } catch {
      body = {};
    }
    const accessToken = body.access_token;
    const refreshToken = typeof body.refresh_token === "string" ? body.refresh_token : earlierRefreshToken;
    if (typeof accessToken !== "string" || !accessToken || !refreshToken) return undefined;
    const issuedAt = now();
    const expiresIn = Number(body.expires_in);
    const interval = check.tokens.refreshInterval ? Number(input.values[check.tokens.refreshInterval]) : NaN;
    const periods = [expiresIn, interval].filter((s) => Number.isFinite(s) && s > 0).map((s) => s * 1000);
    const period = periods.length ? Math.min(...periods) : undefined;
    return {
      issued: { [check.tokens.issuedAt]: String(issuedAt) },
      issuedSecrets: { [check.tokens.accessToken]: accessToken, [check.tokens.refreshToken]: refreshToken },
      refreshDueAt: period === undefined ? null : issuedAt + period - refreshMargin(period),
    };
  }

  /** Runs the declared check once; the verdict and the state it leads to. */
  async function run(
    input: InstanceCredentials,
    earlier: ProvisionInteraction[],
  ): Promise<{ verdict: Verdict; state: ProvisioningState; request?: OutboundRequest }> {
    const check = input.connector.credentialCheck;
    if (check.type === "none") {
      return {
        verdict: { kind: "accepted", response: { status: 200, headers: {}, body: "", truncated: false } },
        state: { valid: true, interactions: earlier, issued: {}, issuedSecrets: {}, refreshDueAt: null },
      };
    }
    const key = input.connector.key;
    const done =
      check.type === "request"
        ? await exchange("credential-check", input, checkRequest(key, check, input.values), check.accepted, check.refused)
        : await exchange("token", input, passwordGrantRequest(key, check, input.values), check.accepted, check.refused);
    let verdict = done.verdict;
    let tokens: ReturnType<typeof issuedTokens> = { issued: {}, issuedSecrets: {}, refreshDueAt: null };
    if (verdict.kind === "accepted") {
      tokens = issuedTokens(input, verdict.response);
      if (!tokens)
        verdict = {
          kind: "failed",
          reason: "vendor-error",
          status: verdict.response.status,
          message: "its answer holds no access_token and refresh_token",
        };
    }
    const interactions = appendInteractions(earlier, [done.interaction]);
    const valid = verdict.kind === "accepted";
    return {
      verdict,
      request: done.request,
      state: {
        valid,
        ...(verdict.kind === "accepted" ? {} : { invalidReason: reasonOf(input.connector, verdict) }),
        interactions,
        issued: tokens?.issued ?? {},
        issuedSecrets: tokens?.issuedSecrets ?? {},
        refreshDueAt: tokens?.refreshDueAt ?? null,
      },
    };
  }

  return {
    mode,

    /** The entries a check sends or builds its URL from, and every secret: changing one re-provisions. */
    credentialsChanged(connector: Connector, before: TemplateValues, after: TemplateValues): boolean {
      const names = new Set(connector.secretKeys);
      for (const name of reachableNames(JSON.stringify(connector.credentialCheck), { ...before, ...after })) names.add(name);
      return [...names].some((name) => (before[name] ?? null) !== (after[name] ?? null));
    },

    /**
     * Checks the credentials before an instance is created or changed: the state to keep, or the
     * error to answer (refused: 422; unreachable or failing: 502; too slow: 504; a refused
     * address: 400). Undefined when provisioning is off.
     */
    async provision(input: InstanceCredentials, earlier: ProvisionInteraction[] = []): Promise<ProvisioningState | undefined> {
      if (mode === "off") return undefined;
      const { verdict, state, request } = await run(input, earlier);
      if (verdict.kind === "accepted") return state;
      throw errorOf(input.connector, verdict, request);
    },

    /** Checks again on demand: the outcome, whatever it is, is the new state. Undefined when off. */
    async check(input: InstanceCredentials, earlier: ProvisionInteraction[] = []): Promise<ProvisioningState | undefined> {
      if (mode === "off") return undefined;
      return (await run(input, earlier)).state;
    },

    /**
     * Renews the vendor's tokens with the refresh-token grant. Refused: the instance becomes
     * invalid and is not refreshed again until it is checked anew. Failed otherwise (unreachable,
     * slow): invalid until a retry a minute later succeeds, while the token may still be good.
     */
    async refresh(input: InstanceCredentials, earlier: ProvisioningState): Promise<ProvisioningState> {
      const check = input.connector.credentialCheck;
      const refreshToken = check.type === "oauth2-password" ? earlier.issuedSecrets[check.tokens.refreshToken] : undefined;
      if (check.type !== "oauth2-password" || !refreshToken) return { ...earlier, refreshDueAt: null };
      const done = await exchange(
        "refresh",
        input,
        refreshGrantRequest(input.connector.key, check, input.values, refreshToken),
        check.accepted,
        check.refused,
      );
      let verdict = done.verdict;
      let tokens: ReturnType<typeof issuedTokens>;
      if (verdict.kind === "accepted") {
        tokens = issuedTokens(input, verdict.response, refreshToken);
        if (!tokens)
          verdict = {
            kind: "failed",
            reason: "vendor-error",
            status: verdict.response.status,
            message: "its answer holds no access_token",
          };
      }
      const interactions = appendInteractions(earlier.interactions, [done.interaction]);
      if (verdict.kind === "accepted") return tokens ? { valid: true, interactions, ...tokens } : earlier;
      return {
        ...earlier,
        valid: false,
        invalidReason: reasonOf(input.connector, verdict, "refresh"),
        interactions,
        refreshDueAt: verdict.kind === "refused" ? null : now() + refreshRetryMs,
      };
    },
  };
}

function reasonOf(connector: Connector, verdict: Exclude<Verdict, { kind: "accepted" }>, what = "check"): string {
  const name = connector.catalog.name;
  if (verdict.kind === "refused")
    return `${name} refused the credentials${what === "refresh" ? " when the token was refreshed" : ""} (HTTP ${verdict.status}): ${verdict.message}`;
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

/** What the vendor said, from the usual places in a JSON error body, else nothing more than its status. */
function vendorMessage(response: OutboundResponse): string {
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return "no reason given";
  }
  const record = (body ?? {}) as Record<string, unknown>;
  const nested = ((record.requestError as Record<string, unknown> | undefined)?.serviceException ?? {}) as Record<string, unknown>;
  const said = [record.error_description, record.error_message, record.message, nested.text, record.description, record.error].find(
    (v): v is string => typeof v === "string" && v.length > 0,
  );
  return said ?? "no reason given";
}

/** Blots every secret out of a text, and keeps it short. */
function scrubber(secrets: readonly string[]): (text: string) => string {
  const known = [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (text) =>
    cut(
      known.reduce((t, secret) => t.split(secret).join("********"), text),
      300,
    );
}
