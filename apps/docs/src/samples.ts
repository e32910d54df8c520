// The code samples of each operation, read from samples/: `<operationId>.sh` (curl) and
// `<operationId>.ts` (the typed client). The TypeScript files import a shared `client` from
// samples/client.ts so that the type checker compiles each as it is; the docs show them
// self-contained, with that import replaced by client.ts itself.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { OperationSamples } from "./docs-document.js";

export const samplesDir = fileURLToPath(new URL("../samples/", import.meta.url));

const clientImport = 'import { client } from "./client.js";\n';

export function readSamples(operationId: string, dir: string = samplesDir): OperationSamples {
  const file = (extension: string) => {
    const name = path.join(dir, `${operationId}.${extension}`);
    if (!existsSync(name)) throw new Error(`docs: no ${extension} sample for ${operationId}: add ${path.relative(process.cwd(), name)}`);
    return readFileSync(name, "utf8").trimEnd();
  };
  const typescript = file("ts");
  if (!typescript.startsWith(clientImport)) throw new Error(`docs: samples/${operationId}.ts must start with ${clientImport.trim()}`);
  const client = readFileSync(path.join(dir, "client.ts"), "utf8").replace("export const client", "const client").trimEnd();
  return { curl: file("sh"), typescript: `${client}\n${typescript.slice(clientImport.length)}` };
}
