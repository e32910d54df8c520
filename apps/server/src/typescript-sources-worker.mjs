// Runs a worker thread from the TypeScript sources, as the tests do (they import src/*.ts): Node
// strips the types, and this resolve hook lets the sources' ".js" imports (TypeScript's NodeNext
// convention) find the ".ts" files beside them. The built server (dist/) never loads this file.
import { existsSync } from "node:fs";
import { registerHooks } from "node:module";
import { fileURLToPath } from "node:url";
import { workerData } from "node:worker_threads";

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith(".") && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
      const source = new URL(`${specifier.slice(0, -".js".length)}.ts`, context.parentURL);
      if (existsSync(fileURLToPath(source))) return nextResolve(source.href, context);
    }
    return nextResolve(specifier, context);
  },
});

await import(workerData.entry);
