// The guides' known defects, as listed in ../shared/seeds/README.md, and their corrections. Each
// repair names the defect it mends and fails loudly when the text no longer shows it, so a fixed
// or changed guide cannot be mended twice or silently.
import type { JsonObject, Seed } from "./read-seeds.js";

interface TextRepair {
  file: string;
  defect: string;
  repair: (text: string) => string;
}

const textRepairs: TextRepair[] = [
  {
    file: "infobip-create-instance.md",
    defect: "configDescription holds an HTML link with unescaped double quotes",
    repair: (text) =>
      replaceOnce(
        text,
        /("configDescription": ")(.*)(",\s*\n)/,
        (_all, open: string, value: string, close: string) => open + value.replace(/(?<!\\)"/g, '\\"') + close,
      ),
  },
  {
    file: "freshservice-create-instance.md",
    defect: "the your_mom object is never closed before provisionInteractions, and the document ends with an extra }",
    repair: (text) =>
      replaceOnce(
        replaceOnce(
          text,
          /("resources": \[\]),(\s*\n\s*"provisionInteractions")/,
          (_all, resources: string, rest: string) => `${resources}\n  },${rest}`,
        ),
        /}\s*}\s*$/,
        () => "}\n",
      ),
  },
];

export function repairResponseText(file: string, text: string): string {
  return textRepairs
    .filter((r) => r.file === file)
    .reduce((t, r) => {
      try {
        return r.repair(t);
      } catch (error) {
        throw new Error(`${file}: the known defect "${r.defect}" is no longer there`, { cause: error });
      }
    }, text);
}

function replaceOnce(text: string, pattern: RegExp, replacer: (...groups: string[]) => string): string {
  if (!pattern.test(text)) throw new Error(`pattern ${pattern} not found`);
  return text.replace(pattern, replacer);
}

/**
 * The seed's response with the documents' value defects corrected: the connector id is the front
 * matter's (the samples reuse placeholder ids), and SugarCRM's consumer secret placeholder no
 * longer reads SURGARCRM_CONSUMER_KEY.
 */
export function correctedResponse(seed: Seed): JsonObject {
  const response = structuredClone(seed.response);
  (response.your_mom as JsonObject).id = seed.connectorId;
  const configuration = response.configuration as JsonObject | undefined;
  if (configuration?.["oauth.api.secret"] === "SURGARCRM_CONSUMER_KEY") {
    configuration["oauth.api.secret"] = "SUGARCRM_CONSUMER_SECRET";
  }
  return response;
}
