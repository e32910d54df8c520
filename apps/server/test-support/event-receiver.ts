// A receiver of events for the tests, on 127.0.0.1 over plain HTTP: it records every request (its
// headers and the body as received, and what the Standard Webhooks envelope says: webhook-id,
// event type, instance id) and answers as the test says, per path: a status, or never (a receiver
// that hangs); the test may look at the request to decide (a receiver that checks signatures, with
// the `standardwebhooks` package and the instance's signing secret). `eventEnv` is the environment
// that points a spawned server at it.
//
// It holds every request to the spec's `webhooks` section, as a receiver generated from the spec
// would: a type the section does not describe, a header or a body its schemas refuse, is written on
// the request (`problems`), and `close()` fails naming each one. Every test that sends events to a
// receiver thereby proves that the server sends only events the spec describes.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo, Socket } from "node:net";
import { eventChecker, readSpecDocument, type ReceivedEvent } from "@instances-api/spec-tools";

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** When it arrived (Date.now()). */
  at: number;
  /** The `webhook-id` header: the same for every attempt of one event. */
  webhookId: string;
  /** The event's `type`, if the body is an event. */
  type?: string;
  /** The event's `data.id`, the instance's id, if the body is an event. */
  instanceId?: number;
  /** What the spec's webhooks say is wrong with the request; none for an event they describe (or when not checked). */
  problems: string[];
}

/** How to answer the nth (from 1) request on a path, given the request: a status, or "hang" to answer never. */
export type Behaviour = (path: string, nth: number, request: Received) => number | "hang";

export interface EventReceiver {
  port: number;
  url: (path: string) => string;
  received: Received[];
  /** Requests that are still waiting for an answer. */
  hanging: () => number;
  answer: (behaviour: Behaviour) => void;
  /** Resolves with the requests on `path` once `count` have arrived; fails after `timeoutMs`. */
  waitFor: (path: string, count: number, timeoutMs?: number) => Promise<Received[]>;
  /** Resolves once `done` holds of everything received; fails after `timeoutMs`. */
  until: (done: (received: Received[]) => boolean, timeoutMs?: number) => Promise<void>;
  /** Stops listening; then fails if a request received was not an event the spec's webhooks describe. */
  close: () => Promise<void>;
}

export interface EventReceiverOptions {
  /** Hold each request to the spec's webhooks (the default); off only for a test of the receiver itself. */
  checkEvents?: boolean;
}

/** The check of requests against the bundled spec's webhooks: made once, on first use. */
let webhooksCheck: ((request: ReceivedEvent) => string[]) | undefined;
function checkAgainstWebhooks(request: ReceivedEvent): string[] {
  webhooksCheck ??= eventChecker(readSpecDocument(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json")));
  return webhooksCheck(request);
}

export async function startEventReceiver({ checkEvents = true }: EventReceiverOptions = {}): Promise<EventReceiver> {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let open = 0;
  let behaviour: Behaviour = () => 204;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      const nth = (counts.get(path) ?? 0) + 1;
      counts.set(path, nth);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value;
      const body = Buffer.concat(chunks).toString("utf8");
      const problems = checkEvents ? checkAgainstWebhooks({ headers, body }) : [];
      const request: Received = {
        path,
        headers,
        body,
        at: Date.now(),
        webhookId: headers["webhook-id"] ?? "",
        ...envelope(body),
        problems,
      };
      received.push(request);
      const answer = behaviour(path, nth, request);
      if (answer === "hang") {
        open++;
        res.on("close", () => open--);
        return;
      }
      res.statusCode = answer;
      res.end(answer >= 400 ? "no thanks" : "");
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    hanging: () => open,
    answer: (next) => {
      behaviour = next;
    },
    waitFor: async (path, count, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const onPath = received.filter((r) => r.path === path);
        if (onPath.length >= count) return onPath;
        if (Date.now() > deadline) throw new Error(`${onPath.length} of ${count} requests on ${path} arrived in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    until: async (done, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!done(received)) {
        if (Date.now() > deadline) throw new Error(`events never arrived as expected; received ${received.length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const outOfSpec = received.filter((request) => request.problems.length > 0);
      if (outOfSpec.length === 0) return;
      const lines = outOfSpec.map((r) => `  POST ${r.path} (${r.webhookId || "no webhook-id"}): ${r.problems.join("; ")}`);
      throw new Error(`the receiver got ${outOfSpec.length} request(s) that the spec's webhooks do not describe:\n${lines.join("\n")}`);
    },
  };
}

/** What an event's body says of itself: its type and its instance's id; nothing for a body that is no event. */
function envelope(body: string): Pick<Received, "type" | "instanceId"> {
  try {
    const event = JSON.parse(body) as { type?: unknown; data?: { id?: unknown } };
    return {
      ...(typeof event.type === "string" ? { type: event.type } : {}),
      ...(typeof event.data?.id === "number" ? { instanceId: event.data.id } : {}),
    };
  } catch {
    return {};
  }
}

/** The environment that lets a spawned server send events to the receiver, with short retries. */
export function eventEnv(receiver: EventReceiver): Record<string, string> {
  return {
    OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
    EVENT_FIRST_RETRY_MS: "300",
    EVENT_DELIVERY_TIMEOUT_MS: "1500",
    EVENT_POLL_INTERVAL_MS: "100",
  };
}
