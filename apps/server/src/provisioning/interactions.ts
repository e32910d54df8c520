// What an instance shows of its provisioning: each exchange with the vendor (or the sandbox's
// simulation of it) as one step, with the host it went to and the path as the platform's template
// names it, but never a query string, a header, a body or a path built from the instance's values,
// so that no secret can be in it. Only the last few are kept.
import type { ProvisionInteractionBody } from "../api-types.js";

/** One step, as the spec's ProvisionInteraction describes it. */
export type ProvisionInteraction = ProvisionInteractionBody;
export type InteractionStep = ProvisionInteraction["step"];
export type InteractionOutcome = ProvisionInteraction["outcome"];

/** How many interactions an instance keeps: the newest. */
export const interactionsKept = 20;

export function interaction(
  step: InteractionStep,
  request: Pick<ProvisionInteraction, "method" | "host" | "path">,
  started: Date,
  simulated: boolean,
  result: { status: number | null; outcome: InteractionOutcome; detail?: string },
): ProvisionInteraction {
  return {
    time: started.toISOString(),
    step,
    method: request.method,
    host: request.host,
    path: request.path,
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
