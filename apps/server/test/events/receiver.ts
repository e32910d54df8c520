// A local receiver of events for the tests, on 127.0.0.1: it records every request (headers and
// the body as received) and answers as the test says, per path: a status, or never (a receiver
// that hangs); the test may look at the request to decide (a receiver that checks signatures).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** How to answer the nth (from 1) request on a path, given the request: a status, or "hang" to answer never. */
export type Behaviour = (path: string, nth: number, request: Received) => number | "hang";

export interface Receiver {
  port: number;
  url: (path: string) => string;
  received: Received[];
  /** Requests that are still waiting for an answer. */
  hanging: () => number;
  answer: (behaviour: Behaviour) => void;
  /** Resolves with the requests on `path` once `count` have arrived; fails after `timeoutMs`. */
  waitFor: (path: string, count: number, timeoutMs?: number) => Promise<Received[]>;
  close: () => Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
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
      const request = { path, headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
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
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
