// proxy(): the request it makes for each kind of call (path segments encoded one by one, query,
// JSON or raw body), and isVendorAnswer() on the header that marks a vendor's answer.
import { describe, expect, it } from "vitest";
import { createInstancesClient, isVendorAnswer, proxy } from "../src/index.js";

function recordingClient(answer = () => new Response("{}", { headers: { "X-Proxied-From": "sugarcrmv2" } })) {
  const requests: Request[] = [];
  const client = createInstancesClient({
    baseUrl: "http://127.0.0.1:9/your_moms/api-v2",
    userSecret: "user",
    organizationSecret: "organization",
    fetch: (request) => {
      requests.push(request);
      return Promise.resolve(answer());
    },
  });
  return { client, requests };
}

describe("proxy()", () => {
  it("sends each segment of the vendor path encoded on its own, with the query and the method", async () => {
    const { client, requests } = recordingClient();
    const answer = await proxy(client, 123, { method: "GET", path: "/Contacts/a b/link", query: { max_num: 1, fields: ["a", "b"] } });
    expect(requests[0]!.method).toBe("GET");
    expect(requests[0]!.url).toBe(
      "http://127.0.0.1:9/your_moms/api-v2/instances/123/proxy/Contacts/a%20b/link?max_num=1&fields=a&fields=b",
    );
    expect(isVendorAnswer(answer)).toBe(true);
  });

  it('names the instance by its token with "current", and keeps a slash inside a segment from splitting it', async () => {
    const { client, requests } = recordingClient();
    await proxy(client, "current", { method: "DELETE", path: "Contacts/a%2Fb" });
    expect(requests[0]!.method).toBe("DELETE");
    expect(requests[0]!.url).toBe("http://127.0.0.1:9/your_moms/api-v2/instance/proxy/Contacts/a%252Fb");
  });

  it("sends an object as JSON and a string as it is", async () => {
    const { client, requests } = recordingClient();
    await proxy(client, 5, { method: "POST", path: "Contacts", body: { first_name: "Ada" } });
    await proxy(client, 5, { method: "PUT", path: "Contacts/1", body: "<xml/>", headers: { "Content-Type": "application/xml" } });
    expect(await requests[0]!.text()).toBe('{"first_name":"Ada"}');
    expect(requests[0]!.headers.get("content-type")).toBe("application/json");
    expect(await requests[1]!.text()).toBe("<xml/>");
    expect(requests[1]!.headers.get("content-type")).toBe("application/xml");
  });

  it("tells the platform's own answer from the vendor's", async () => {
    const { client } = recordingClient(() => Response.json({ type: "urn:instances-api:problem:not-found" }, { status: 404 }));
    const answer = await proxy(client, 5, { method: "GET", path: "x" });
    expect(answer.status).toBe(404);
    expect(isVendorAnswer(answer)).toBe(false);
  });
});
