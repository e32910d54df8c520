// A SQLite worker thread (sqlite-storage.ts starts them): it opens the database and builds the
// very stores the event loop used to run, then answers calls. better-sqlite3 is synchronous: here
// a query and a commit's sync to disk hold this thread, not the server's event loop. The writer
// opens the file as before (its checks, WAL, synchronous=FULL, the migrations) and runs every
// write in its group commit; a reader opens it read-only, after the writer, and runs reads only.
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { sqliteAccountStore } from "./accounts/sqlite-account-store.js";
import { groupCommit } from "./database/group-commit.js";
import {
  gatherSqliteStatistics,
  isStorageFault,
  openSqlite,
  openSqliteReader,
  probeSqlite,
  type SqliteDatabase,
} from "./database/sqlite.js";
import { sqliteEventStore, sqliteEventWriter } from "./events/sqlite-event-store.js";
import { sqliteInstanceStore } from "./instances/sqlite-instance-store.js";
import { sqliteRefreshStore } from "./instances/sqlite-refresh-store.js";
import { sqlitePollStore } from "./polling/sqlite-poll-store.js";
import { sqliteKeyCheckStore } from "./secrets/sqlite-key-check-store.js";
import {
  sentError,
  storeNames,
  withBuffers,
  type CallbackAnswer,
  type CallbackRef,
  type FromWorker,
  type StoreName,
  type ToWorker,
  type WorkerSetup,
} from "./sqlite-storage-protocol.js";

type Method = (...args: unknown[]) => Promise<unknown>;

const setup = workerData as WorkerSetup;
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

/** The stores over one connection, as storage.ts built them on the event loop before. */
function storesOver(db: SqliteDatabase): Record<StoreName, object> {
  const eventWriter = sqliteEventWriter(db, setup.maxPendingPerInstance);
  // One group commit for every write of the instances and their polls: a refresh's claim and its
  // write, a poll's page and its events, share syncs.
  const commit = groupCommit(db);
  const instances = sqliteInstanceStore(db, eventWriter, commit);
  return {
    accounts: sqliteAccountStore(db),
    instances,
    events: sqliteEventStore(db),
    keyCheck: { ...sqliteKeyCheckStore(db), samples: () => instances.sealedSamples() },
    refreshes: sqliteRefreshStore(db, commit),
    polls: sqlitePollStore(db, eventWriter, commit),
    database: {
      // Through a connection of its own, so with an empty page cache: what the file holds now.
      ping: () => Promise.resolve().then(() => probeSqlite(setup.file)),
      gatherStatistics: () => Promise.resolve().then(() => gatherSqliteStatistics(db)),
    },
  };
}

const signal = new Int32Array(setup.callbackSignal);

/**
 * The function the event loop holds, called from inside a transaction: the call is posted, and
 * this thread waits (a write's follow-ups are small and synchronous: sealing, an event's body)
 * until the answer is there, then reads it without turning its own event loop.
 */
function callingBack(id: number, callback: number) {
  return (...args: unknown[]): unknown => {
    Atomics.store(signal, 0, 0);
    post({ kind: "callback", id, callback, args });
    Atomics.wait(signal, 0, 0);
    const answer = receiveMessageOnPort(setup.callbackAnswers)!.message as CallbackAnswer;
    if (answer.ok) return withBuffers(answer.value);
    throw Object.assign(new Error(answer.error.message), { fromCallback: true });
  };
}

function argumentsOf(id: number, args: unknown[]): unknown[] {
  return args.map((arg) => {
    const callback = (arg as Partial<CallbackRef> | null)?.callback;
    return typeof callback === "number" ? callingBack(id, callback) : withBuffers(arg);
  });
}

function start(): void {
  let db: SqliteDatabase;
  try {
    db = setup.role === "writer" ? openSqlite(setup.file) : openSqliteReader(setup.file, 5000);
  } catch (error) {
    post({ kind: "refused", error: sentError(error) });
    return; // nothing listens: the thread ends
  }
  const stores = storesOver(db);
  let inFlight = 0;
  let closing = false;
  const closeWhenIdle = () => {
    if (!closing || inFlight > 0) return;
    db.close();
    post({ kind: "closed" });
    setup.callbackAnswers.close();
    port.close();
  };

  const answer = async (id: number, store: StoreName, method: string, args: unknown[]) => {
    try {
      const member = storeNames.includes(store) ? (stores[store] as Record<string, unknown>)[method] : undefined;
      if (typeof member !== "function") throw new Error(`the SQLite storage has no ${store}.${method}`);
      const value = await (member as Method)(...argumentsOf(id, args));
      post({ kind: "answer", id, ok: true, value });
    } catch (error) {
      const fromCallback = (error as { fromCallback?: unknown } | null)?.fromCallback === true;
      post({ kind: "answer", id, ok: false, error: sentError(error, { storageFault: isStorageFault(error), fromCallback }) });
    }
  };

  port.on("message", (message: ToWorker) => {
    if (message.kind === "close") {
      closing = true; // the writes under way (the group commit's batch) still commit
      closeWhenIdle();
      return;
    }
    inFlight++;
    void answer(message.id, message.store, message.method, message.args).finally(() => {
      inFlight--;
      closeWhenIdle();
    });
  });
  const methods = Object.fromEntries(
    storeNames.map((name) => [
      name,
      Object.keys(stores[name]).filter((key) => typeof (stores[name] as Record<string, unknown>)[key] === "function"),
    ]),
  ) as Record<StoreName, string[]>;
  post({ kind: "ready", methods });
}

start();
