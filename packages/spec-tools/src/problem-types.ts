// Reads the catalog of problem types out of the bundled spec: the `ProblemType` schema's `enum`
// (every `type` a Problem may carry) and its `x-enumDescriptions` (each type's status, in
// backticks first, then its meaning: spec/README.md documents the form). The server's tests, the
// docs and the spec's own tests all read the catalog here, so they agree on it.
import type { JsonObject, SpecDocument } from "./document.js";

/** What every problem type URI starts with; the rest is the type's name. */
export const problemTypePrefix = "urn:instances-api:problem:";

export interface ProblemTypeDefinition {
  /** The URI a Problem's `type` carries: `urn:instances-api:problem:not-found`. */
  type: string;
  /** The URI's last part, as the server names it: `not-found`. */
  name: string;
  /** The one HTTP status a Problem of this type comes with. */
  status: number;
  /** What it means, in Markdown (its description without the status). */
  meaning: string;
}

const describedStatus = /^`([45]\d\d)` (\S[\s\S]*)$/;

/** Every catalogued problem type, in the catalog's order. Throws when the catalog breaks its form. */
export function readProblemTypes(spec: SpecDocument): ProblemTypeDefinition[] {
  const schema: JsonObject | undefined = spec.components.schemas.ProblemType;
  if (!schema || !Array.isArray(schema.enum)) throw new Error("spec: components.schemas.ProblemType has no enum");
  const descriptions = (schema["x-enumDescriptions"] ?? {}) as Record<string, unknown>;
  const types = schema.enum as unknown[];
  const undescribed = Object.keys(descriptions).filter((type) => !types.includes(type));
  if (undescribed.length) throw new Error(`spec: ProblemType describes types outside its enum: ${undescribed.join(", ")}`);
  return types.map((type) => {
    if (typeof type !== "string" || !type.startsWith(problemTypePrefix) || type.length === problemTypePrefix.length)
      throw new Error(`spec: ProblemType's ${JSON.stringify(type)} is not ${problemTypePrefix}<name>`);
    const description = descriptions[type];
    const described = typeof description === "string" ? describedStatus.exec(description) : null;
    if (!described) throw new Error(`spec: ProblemType's description of ${type} does not start with its status, as \`400\``);
    return { type, name: type.slice(problemTypePrefix.length), status: Number(described[1]), meaning: described[2]! };
  });
}

/** The problem types a response (a components/responses entry) says it may carry: its `x-problem-types`. */
export function problemTypesOf(response: unknown): string[] {
  const listed = (response as { "x-problem-types"?: unknown } | null)?.["x-problem-types"];
  return Array.isArray(listed) ? listed.filter((type): type is string => typeof type === "string") : [];
}
