// What the event loop and the SQLite worker threads (sqlite-storage.ts, sqlite-storage-worker.ts)
// say to each other. A call names a store, a method and its arguments; its answer is the value
// or the error. Both cross by structured clone, which keeps plain data, but turns a Buffer into a
// bare Uint8Array (rebuilt on arrival: the stores and their callers compare and bind Buffers),
// drops an error's class and its `code` (sent as plain fields and rebuilt here), and refuses
// functions: a function argument (a write's follow-ups) stays on the event loop, and the worker
// calls it synchronously, inside the write's transaction, through `CallbackChannel`.
import { Buffer } from "node:buffer";
import type { MessagePort } from "node:worker_threads";
import { StartupError } from "./startup-error.js";
import { DatabaseUnavailableError } from "./database/errors.js";

/** The stores a worker serves, each a plain object of async methods (and `database`, the storage's own). */
export const storeNames = ["accounts", "instances", "events", "keyCheck", "refreshes", "polls", "database"] as const;
export type StoreName = (typeof storeNames)[number];

/**
 * The methods that only read: a reader thread runs them (WAL lets readers run beside the writer),
 * so that a slow read does not hold back the writes, nor a write's sync the reads. Everything else
 * is a write (or a claim) and runs on the one writer thread, in its group commit.
 */
export const readMethods: Partial<Record<StoreName, readonly string[]>> = {
  accounts: ["findCaller", "listOrganizations"],
  instances: ["get", "findByTokenHash", "list", "sealedSamples", "readNewest"],
  events: ["listForInstance", "newestDropped"],
  keyCheck: ["read", "samples"],
  polls: ["unscheduled"],
};

export type Role = "writer" | "reader";

/** What a worker is started with (workerData). */
export interface WorkerSetup {
  role: Role;
  file: string;
  maxPendingPerInstance: number;
  /** Where the event loop says a callback's answer is ready: one Int32, 0 while it is awaited. */
  callbackSignal: SharedArrayBuffer;
  /** Where it sends that answer (the worker reads it synchronously). */
  callbackAnswers: MessagePort;
  /** Set when the worker runs from the TypeScript sources (tests): the module to load. */
  entry?: string;
}

/** An argument that was a function: the worker calls it back by its index in the call. */
export interface CallbackRef {
  callback: number;
}

export type ToWorker = { kind: "call"; id: number; store: StoreName; method: string; args: unknown[] } | { kind: "close" };

export type FromWorker =
  | { kind: "ready"; methods: Record<StoreName, string[]> }
  | { kind: "refused"; error: SentError }
  | { kind: "answer"; id: number; ok: true; value: unknown }
  | { kind: "answer"; id: number; ok: false; error: SentError }
  | { kind: "callback"; id: number; callback: number; args: unknown[] }
  | { kind: "closed" };

export type CallbackAnswer = { ok: true; value: unknown } | { ok: false; error: SentError };

/** An error as it crosses: its words, SQLite's code, and what the other side must rebuild it as. */
export interface SentError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  /** A storage fault (the file damaged, gone or read-only, the disk failing or full): a 503. */
  storageFault?: boolean;
  /** A refusal to start, said in full (StartupError). */
  startup?: boolean;
  /** Thrown by a callback on the event loop: the caller gets that very error back. */
  fromCallback?: boolean;
}

export function sentError(error: unknown, flags: Pick<SentError, "storageFault" | "fromCallback"> = {}): SentError {
  // A storage fault already turned into the 503 (the health check's probe): its cause crosses.
  if (error instanceof DatabaseUnavailableError) return { ...sentError(error.cause, flags), storageFault: true };
  const { name, message, code, stack } = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown };
  return {
    name: typeof name === "string" ? name : "Error",
    message: typeof message === "string" ? message : String(error),
    ...(typeof code === "string" ? { code } : {}),
    ...(typeof stack === "string" ? { stack } : {}),
    ...(error instanceof StartupError ? { startup: true } : {}),
    ...(flags.storageFault ? { storageFault: true } : {}),
    ...(flags.fromCallback ? { fromCallback: true } : {}),
  };
}

/** The error again, as the callers check it: StartupError, the storage fault's 503, or SQLite's error with its code. */
export function rebuiltError(sent: SentError, faultMessage: (cause: Error) => DatabaseUnavailableError): Error {
  if (sent.startup) return new StartupError(sent.message);
  const error = Object.assign(new Error(sent.message), sent.code === undefined ? {} : { code: sent.code });
  error.name = sent.name;
  if (sent.stack !== undefined) error.stack = sent.stack;
  return sent.storageFault ? faultMessage(error) : error;
}

/**
 * The value with every bare Uint8Array made a Buffer again (structured clone keeps the bytes, not
 * the class). In place: what crossed is a copy of its own, so only the few members that were Buffers
 * are replaced, and nothing else is copied again.
 */
export function withBuffers<T>(value: T): T {
  if (value instanceof Uint8Array)
    return (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)) as T;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const member: unknown = value[index];
      if (typeof member === "object" && member !== null) value[index] = withBuffers(member);
    }
    return value;
  }
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const members = value as Record<string, unknown>;
  for (const key of Object.keys(members)) {
    const member = members[key];
    if (typeof member !== "object" || member === null) continue;
    const rebuilt = withBuffers(member);
    // Defined, not assigned: an own "__proto__" (a vendor's record, parsed from JSON) stays data,
    // where an assignment would set the object's prototype.
    if (rebuilt !== member) Object.defineProperty(members, key, { value: rebuilt, enumerable: true, writable: true, configurable: true });
  }
  return value;
}
