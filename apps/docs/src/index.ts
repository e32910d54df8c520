// @instances-api/docs: where the built docs are, for the server that serves them.
import { fileURLToPath } from "node:url";

/** The folder holding the built docs (index.html); `npm run build` writes it. */
export const docsDir = fileURLToPath(new URL("../dist/", import.meta.url));
