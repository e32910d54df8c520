// What an instance shows of its provisioning: each exchange with the vendor (or the sandbox's
// simulation of it) as one step, with where it went but never a query string, a header or a
// body, so that no secret can be in it. Only the last few are kept.
import type { ProvisionInteractionBody } from "../api-types.js";
import type { OutboundRequest } from "../outbound/outbound.js";

/** One step, as the spec's ProvisionInteraction describes it. */
export type ProvisionInteraction = ProvisionInteractionBody;
export type InteractionStep = ProvisionInteraction["step"];
export type InteractionOutcome = ProvisionInteraction["outcome"];

/** How many interactions an instance keeps: the newest. */
export const interactionsKept = 20;

export function interaction(
  step: InteractionStep,
  request: Pick<OutboundRequest, "method" | "url">,
  started: Date,
  simulated: boolean,
  result: { status: number | null; outcome: InteractionOutcome; detail?: string },
): ProvisionInteraction {
  return {
    time: started.toISOString(),
    step,
    method: request.method,
    host: request.url.host,
    path: request.url.pathname,
    status: result.status,
    outcome: result.outcome,
    simulated,
    ...(result.detail === undefined ? {} : { detail: result.detail }),
  };
}

/** The earlier interactions with the new ones after them, the newest `interactionsKept` kept. */
export function appendInteractions(
  earlier: readonly ProvisionInteraction[],
  added: readonly ProvisionInteraction[],
): ProvisionInteraction[] {
  return [...earlier, ...added].slice(-interactionsKept);
}
