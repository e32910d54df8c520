// The code samples of each operation, read from samples/: `<operationId>.sh` (curl) and
// `<operationId>.ts` (the typed client). The TypeScript files import a shared `client` from
// samples/client.ts so that the type checker compiles each as it is; the docs show them
// self-contained, with that import replaced by client.ts itself. A sample that needs a client of
// its own (one with an instance token) builds it with createInstancesClient and is shown as it is.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { OperationSamples } from "./docs-document.js";

export const samplesDir = fileURLToPath(new URL("../samples/", import.meta.url));

const clientImport = 'import { client } from "./client.js";\n';
const ownClient = /^import \{[^}]*\bcreateInstancesClient\b[^}]*\} from "@instances-api\/client";\n/;

export function readSamples(operationId: string, dir: string = samplesDir): OperationSamples {
  const file = (extension: string) => {
    const name = path.join(dir, `${operationId}.${extension}`);
    if (!existsSync(name)) throw new Error(`docs: no ${extension} sample for ${operationId}: add ${path.relative(process.cwd(), name)}`);
    return readFileSync(name, "utf8").trimEnd();
  };
  const typescript = file("ts");
  if (ownClient.test(typescript)) return { curl: file("sh"), typescript };
  if (!typescript.startsWith(clientImport))
    throw new Error(
      `docs: samples/${operationId}.ts must start with ${clientImport.trim()}, or build its own client with createInstancesClient`,
    );
  const client = readFileSync(path.join(dir, "client.ts"), "utf8").replace("export const client", "const client").trimEnd();
  // The sample's own imports go up with the client's, so that the page shows one import block.
  const [clientImports, clientCode] = splitImports(client);
  const [sampleImports, sampleCode] = splitImports(typescript.slice(clientImport.length));
  return { curl: file("sh"), typescript: [...clientImports, ...sampleImports, "", clientCode, sampleCode].join("\n") };
}

/** The leading `import` lines of a module, and the rest (blank lines between them dropped). */
function splitImports(source: string): [string[], string] {
  const lines = source.split("\n");
  let first = 0;
  while (first < lines.length && (lines[first]!.startsWith("import ") || lines[first]!.trim() === "")) first++;
  return [lines.slice(0, first).filter((line) => line.trim() !== ""), lines.slice(first).join("\n")];
}
