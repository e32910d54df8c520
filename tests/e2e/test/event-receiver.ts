// A receiver of events for the end-to-end tests, on 127.0.0.1: it records each request and
// answers as the test says (a status, or never).
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface ReceivedEvent {
  path: string;
  webhookId: string;
  type: string;
  instanceId: number;
  at: number;
}

export interface EventReceiver {
  port: number;
  url: (path: string) => string;
  received: ReceivedEvent[];
  answer: (behaviour: (event: ReceivedEvent, nth: number) => number | "hang") => void;
  /** Resolves once `done` holds of what was received; fails after `timeoutMs`. */
  until: (done: (received: ReceivedEvent[]) => boolean, timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
}

export async function startEventReceiver(): Promise<EventReceiver> {
  const received: ReceivedEvent[] = [];
  const sockets = new Set<Socket>();
  let behaviour: (event: ReceivedEvent, nth: number) => number | "hang" = () => 204;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { type: string; data: { id: number } };
      const event = {
        path: req.url ?? "/",
        webhookId: String(req.headers["webhook-id"]),
        type: body.type,
        instanceId: body.data.id,
        at: Date.now(),
      };
      received.push(event);
      const answer = behaviour(event, received.filter((r) => r.webhookId === event.webhookId).length);
      if (answer === "hang") return;
      res.statusCode = answer;
      res.end();
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
    answer: (next) => {
      behaviour = next;
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
    },
  };
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
