// A body is read and parsed only for an authenticated caller: an anonymous request is answered
// 401 at once, without waiting for (or paying for) its body, and its connection is closed rather
// than drained. A known caller's body is read as before. Raw sockets show the difference: the
// body is announced (Content-Length) but held back by the client.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => (t = await startTestServer()));
afterAll(() => t.stop());

/** Sends the headers of a create announcing a body (900 kB unless said), and only its first bytes. */
// The body is announced and never sent: a server that answers at all has not waited for it. So the
// refusals are given long (a busy machine is slow to answer, not wrong), and only the caller who
// must get no answer is given up on early.
function announceBody(authorization: string | undefined, length = 900_000, giveUpMs = 1_500): Promise<{ answer: string; closed: boolean }> {
  const { port } = new URL(t.server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(
        `POST /your_moms/api-v2/instances HTTP/1.1\r\nHost: 127.0.0.1\r\n${authorization ? `Authorization: ${authorization}\r\n` : ""}` +
          `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"name": "`,
      );
    });
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.on("error", reject);
    socket.on("close", () => resolve({ answer, closed: true }));
    // A known caller's request waits for its body: stop waiting after a while.
    setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false });
    }, giveUpMs);
  });
}

describe("a request's body", () => {
  it("is not read for an anonymous caller: 401 at once, and the connection closed", async () => {
    const wrong = await announceBody("User not-a-user, Organization not-an-organization", 900_000, 10_000);
    expect(wrong.answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(wrong.answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(wrong.closed).toBe(true);
  });

  it("is read for a known caller, who gets no answer before the body is complete", async () => {
    const known = await announceBody(t.authorization);
    expect(known.answer).toBe("");
    expect(known.closed).toBe(false);
  });

  it("announced over 1 MB is refused with 413 before it is read, and the connection closed", async () => {
    const huge = await announceBody(t.authorization, 500_000_000, 10_000);
    expect(huge.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(huge.answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(huge.closed).toBe(true);
  });

  it("is not read either when the answer comes before it (a 415), and the connection is closed", async () => {
    const { port } = new URL(t.server.url);
    const answer = await new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write(
          `POST /your_moms/api-v2/instances HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${t.authorization}\r\nContent-Type: text/plain\r\nContent-Length: 500000000\r\n\r\nabc`,
        ),
      );
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("error", reject);
      socket.on("close", () => resolve({ text, closed: true }));
      setTimeout(() => {
        socket.destroy();
        resolve({ text, closed: false });
      }, 1_500);
    });
    expect(answer.text).toMatch(/^HTTP\/1\.1 415 /);
    expect(answer.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer.closed).toBe(true);
  });
});
