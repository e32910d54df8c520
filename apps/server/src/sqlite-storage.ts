// SQLite off the event loop. better-sqlite3 is synchronous: run on the server's one event loop,
// every query and every commit's sync to disk (synchronous=FULL) held every request of every
// organization. Here the stores run in worker threads (sqlite-storage-worker.ts), unchanged: one
// writer, which opens and migrates the file and runs every write in its group commit, and a few
// readers (WAL lets them read beside the writer), so that a slow read holds neither the writes nor
// the other reads. The event loop gets objects with the stores' interfaces whose methods post the
// call and await its answer (sqlite-storage-protocol.ts says what crosses and how), but for the
// reads by key, which cost less than a message and run on the event loop (sqlite-point-reads.ts).
//
// A worker that dies (an uncaught error, out of memory) is not restarted: its calls under way reject
// with the 503 of an unavailable database (their writes may or may not have committed, as in a
// crash: none was acknowledged), so does every call after (the reads by key included), the health
// check answers 503, and `lost` resolves, on which `instances-api serve` exits 1 for its supervisor
// to start it again.
import { MessageChannel, Worker } from "node:worker_threads";
import type { AccountStore } from "./accounts/store.js";
import { DatabaseUnavailableError } from "./database/errors.js";
import { storageFaultError } from "./database/sqlite.js";
import type { EventStore } from "./events/outbox.js";
import type { RefreshStore } from "./instances/refresh-store.js";
import type { InstanceStore } from "./instances/store.js";
import type { PollStore } from "./polling/poll-store.js";
import { openPointReads, type PointReads } from "./sqlite-point-reads.js";
import type { KeyCheckStore } from "./secrets/key-check.js";
import {
  readMethods,
  rebuiltError,
  sentError,
  withBuffers,
  type CallbackAnswer,
  type CallbackRef,
  type FromWorker,
  type Role,
  type StoreName,
  type ToWorker,
  type WorkerSetup,
} from "./sqlite-storage-protocol.js";
import type { Storage } from "./storage.js";

type Callback = (...args: unknown[]) => unknown;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  callbacks: Callback[];
  /** What a callback threw, given back to the caller as it was. */
  callbackError?: unknown;
}

/** One worker thread and the calls under way in it. */
interface Lane {
  methods: Record<StoreName, string[]>;
  call(store: StoreName, method: string, args: unknown[]): Promise<unknown>;
  /** Calls posted and not yet answered. */
  inFlight(): number;
  /** Why the thread ended, when it ended without being closed. */
  lost(): Error | undefined;
  whenLost: Promise<Error>;
  /** Resolves once the calls under way are answered (their writes committed) and the thread has ended. */
  close(): Promise<void>;
  /** Ends the thread at once, as a crash would. */
  terminate(): Promise<void>;
}

export interface SqliteStorage extends Storage {
  /** The threads, writer first: for the tests that end one as a crash would. */
  threads: { terminate(): Promise<void> }[];
}

/** The SQLite storage of `file`, with `readers` reader threads (none: every call on the writer). */
export async function openSqliteStorage(file: string, maxPendingPerInstance: number, readers: number): Promise<SqliteStorage> {
  const writer = await startLane("writer", file, maxPendingPerInstance);
  let readLanes: Lane[];
  try {
    readLanes = await Promise.all(Array.from({ length: readers }, () => startLane("reader", file, maxPendingPerInstance)));
  } catch (error) {
    await writer.close();
    throw error;
  }
  const lanes = [writer, ...readLanes];
  let pointReads: PointReads;
  try {
    pointReads = openPointReads(file, maxPendingPerInstance);
  } catch (error) {
    await Promise.all(lanes.map((lane) => lane.close()));
    throw error;
  }
  let closed = false;
  // A read by key answers only while every thread is alive, as the threads' calls do.
  const unavailable = () => {
    const down = lanes.find((lane) => lane.lost());
    if (down) return new DatabaseUnavailableError(down.lost());
    if (closed) return new DatabaseUnavailableError(new Error("the SQLite storage is closed"));
    return undefined;
  };
  let turn = 0;
  // The reader with the fewest calls under way (in turn among equals): a reader held by a slow
  // query gets no more until it has caught up.
  const reader = () => {
    const alive = readLanes.filter((lane) => !lane.lost());
    if (alive.length === 0) return readLanes[0]!;
    turn = (turn + 1) % alive.length;
    let chosen = alive[turn]!;
    for (const lane of alive) if (lane.inFlight() < chosen.inFlight()) chosen = lane;
    return chosen;
  };
  const store = <T>(name: StoreName): T => {
    const reads = new Set(readMethods[name] ?? []);
    const proxy: Record<string, Callback> = {};
    for (const method of writer.methods[name]) {
      const threaded: Callback = (...args) => (readLanes.length > 0 && reads.has(method) ? reader() : writer).call(name, method, args);
      const inPlace = pointReads.method(name, method, threaded as (...args: unknown[]) => Promise<unknown>);
      proxy[method] = inPlace
        ? (...args) => {
            const refusal = unavailable();
            return refusal ? Promise.reject(refusal) : inPlace(...args);
          }
        : threaded;
    }
    return proxy as T;
  };
  return {
    accounts: store<AccountStore>("accounts"),
    instances: store<InstanceStore>("instances"),
    events: store<EventStore>("events"),
    keyCheck: store<KeyCheckStore>("keyCheck"),
    refreshes: store<RefreshStore>("refreshes"),
    polls: store<PollStore>("polls"),
    gatherStatistics: () => writer.call("database", "gatherStatistics", []) as Promise<void>,
    ping: async () => {
      const down = lanes.find((lane) => lane.lost());
      if (down) throw new DatabaseUnavailableError(down.lost());
      await writer.call("database", "ping", []);
    },
    lost: Promise.race(lanes.map((lane) => lane.whenLost)),
    // The writer last: the last connection to close checkpoints the WAL into the file and removes
    // it, which a read-only one cannot do.
    close: async () => {
      if (!closed) {
        closed = true;
        pointReads.close();
      }
      await Promise.all(readLanes.map((lane) => lane.close()));
      await writer.close();
    },
    threads: lanes.map((lane) => ({ terminate: () => lane.terminate() })),
  };
}

// From dist, the compiled worker. From the TypeScript sources (the tests), the source itself, run
// by Node's type stripping, through a loader that lets its ".js" imports find the ".ts" files.
const fromSources = import.meta.url.endsWith(".ts");
const workerModule = new URL(`./sqlite-storage-worker.${fromSources ? "ts" : "js"}`, import.meta.url);

function startLane(role: Role, file: string, maxPendingPerInstance: number): Promise<Lane> {
  const callbackSignal = new SharedArrayBuffer(4);
  const signal = new Int32Array(callbackSignal);
  const { port1: callbackAnswers, port2: workerSide } = new MessageChannel();
  const setup: WorkerSetup = {
    role,
    file,
    maxPendingPerInstance,
    callbackSignal,
    callbackAnswers: workerSide,
    ...(fromSources ? { entry: workerModule.href } : {}),
  };
  const worker = new Worker(fromSources ? new URL("./typescript-sources-worker.mjs", import.meta.url) : workerModule, {
    workerData: setup,
    transferList: [workerSide],
  });

  const pending = new Map<number, Pending>();
  let nextId = 0;
  let lostBecause: Error | undefined;
  let closing = false;
  let failure: Error | undefined;
  let announceLost: (cause: Error) => void = () => {};
  const whenLost = new Promise<Error>((resolve) => (announceLost = resolve));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));

  // Closed, it ends with nothing under way; ended otherwise, whatever was under way fails with it.
  const lose = (cause: Error, { announce }: { announce: boolean }) => {
    const error = new DatabaseUnavailableError(cause);
    for (const call of pending.values()) call.reject(error);
    pending.clear();
    if (!announce) return;
    lostBecause = cause;
    announceLost(cause);
  };

  // A write's follow-ups, called from inside its transaction: the worker waits for this answer.
  const answerCallback = ({ id, callback, args }: { id: number; callback: number; args: unknown[] }) => {
    const call = pending.get(id);
    let answer: CallbackAnswer;
    try {
      const fn = call?.callbacks[callback];
      if (!fn) throw new Error(`no callback ${callback} for call ${id}`);
      answer = { ok: true, value: fn(...withBuffers(args)) };
      callbackAnswers.postMessage(answer);
    } catch (error) {
      if (call) call.callbackError = error;
      callbackAnswers.postMessage({ ok: false, error: sentError(error) } satisfies CallbackAnswer);
    }
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  };

  const answered = (message: Extract<FromWorker, { kind: "answer" }>) => {
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.ok) call.resolve(withBuffers(message.value));
    else if (message.error.fromCallback && call.callbackError !== undefined) call.reject(call.callbackError);
    else call.reject(rebuiltError(message.error, storageFaultError));
  };

  return new Promise<Lane>((resolve, reject) => {
    worker.on("message", (message: FromWorker) => {
      switch (message.kind) {
        case "ready":
          resolve(lane(message.methods));
          return;
        case "refused":
          failure = rebuiltError(message.error, storageFaultError);
          return;
        case "answer":
          answered(message);
          return;
        case "callback":
          answerCallback(message);
          return;
        case "closed":
          return;
      }
    });
    worker.on("error", (error: Error) => {
      failure ??= error;
    });
    worker.once("exit", (code) => {
      callbackAnswers.close();
      // Before it was ready: the start is refused (a StartupError, when the worker said why).
      reject(failure ?? new Error(`the SQLite ${role} thread ended before it started (exit code ${code})`));
      lose(failure ?? new Error(`the SQLite ${role} thread ended (exit code ${code})`), { announce: !closing });
    });
  });

  function lane(methods: Record<StoreName, string[]>): Lane {
    return {
      methods,
      call: (store, method, args) => {
        if (lostBecause) return Promise.reject(new DatabaseUnavailableError(lostBecause));
        if (closing) return Promise.reject(new DatabaseUnavailableError(new Error("the SQLite storage is closed")));
        const id = nextId++;
        const callbacks: Callback[] = [];
        const sent = args.map((arg): unknown =>
          typeof arg === "function" ? ({ callback: callbacks.push(arg as Callback) - 1 } satisfies CallbackRef) : arg,
        );
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject, callbacks });
          try {
            worker.postMessage({ kind: "call", id, store, method, args: sent } satisfies ToWorker);
          } catch (error) {
            pending.delete(id); // an argument that cannot cross (a DataCloneError)
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
      inFlight: () => pending.size,
      lost: () => lostBecause,
      whenLost,
      close: async () => {
        if (lostBecause) return;
        if (!closing) {
          closing = true;
          worker.postMessage({ kind: "close" } satisfies ToWorker);
        }
        await exited;
      },
      terminate: async () => {
        await worker.terminate();
      },
    };
  }
}
