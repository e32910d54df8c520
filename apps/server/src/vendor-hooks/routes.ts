// HTTP for the vendors' posts: POST /vendor-hooks/{secret}/{resource} under the base path, the
// createVendorHookEvent operation. Mounted before the caller's authentication and the spec's
// validator: a vendor sends no Authorization header, the secret in the URL is its credential. So
// this router answers every refusal itself, as Problems: any other method or path under
// /vendor-hooks is the same 404 as a wrong secret; a body over the limit a 413, read no further.
import { Router, type Request } from "express";
import { HookBodyTooLargeError, NoSuchVendorHookError } from "./errors.js";
import { parseReceivingPath, receivingPrefix } from "./hook-state.js";
import { findVendorHook, takeVendorHook, type VendorHookEventDeps } from "./createVendorHookEvent.js";

/** Whether a path under the base path is the receiving URLs' (the validator leaves those alone). */
export function isVendorHookPath(path: string): boolean {
  return path.startsWith(receivingPrefix) || path === receivingPrefix.slice(0, -1);
}

export function vendorHooksRouter(deps: VendorHookEventDeps & { bodyMaxBytes: number }): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.use((req, res, next) => {
    if (!isVendorHookPath(req.path)) return next();
    const target = req.method === "POST" ? parseReceivingPath(req.path) : undefined;
    if (target === undefined || req.originalUrl.includes("?")) return next(new NoSuchVendorHookError());
    void (async () => {
      const hook = await findVendorHook(deps, target.secret, target.resource);
      const body = await readBody(req, deps.bodyMaxBytes);
      await takeVendorHook(deps, hook, body);
      res.status(202).end();
    })().catch((error: unknown) => {
      // A body left unread (refused before it was read, or cut at the limit) is not drained: the connection goes.
      if (!req.complete) res.set("Connection", "close");
      next(error);
    });
  });
  return router;
}

/** The body, at most `maxBytes` (a larger one, announced or sent, is a 413 and is read no further). */
async function readBody(req: Request, maxBytes: number): Promise<Buffer> {
  if (Number(req.headers["content-length"]) > maxBytes) throw new HookBodyTooLargeError(maxBytes);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) throw new HookBodyTooLargeError(maxBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
