// The Authorization header createInstancesClient sends: the account's secrets, and with an
// instance's token the `Element` part that names that instance, on every request.
import { describe, expect, it } from "vitest";
import { authorizationHeader, createInstancesClient } from "../src/index.js";

function recordingClient(instanceToken?: string) {
  const requests: Request[] = [];
  const client = createInstancesClient({
    baseUrl: "http://127.0.0.1:9/your_moms/api-v2",
    userSecret: "user",
    organizationSecret: "organization",
    ...(instanceToken === undefined ? {} : { instanceToken }),
    fetch: (request) => {
      requests.push(request);
      return Promise.resolve(Response.json({ id: 7 }));
    },
  });
  return { client, requests };
}

describe("the Authorization header", () => {
  it.each([
    ["without an instance token", undefined, "User user, Organization organization"],
    ["with an instance token", "cPPwym+pwr26Koz=", "User user, Organization organization, Element cPPwym+pwr26Koz="],
  ])("%s is the API's form", (_name, instanceToken, want) => {
    expect(authorizationHeader("user", "organization", instanceToken)).toBe(want);
  });

  it.each([
    ['empty (an unset variable passed as "")', ""],
    ["with a space", "abc def"],
    ["with a comma", "abc,def"],
  ])("refuses an instance token %s rather than send a header the server cannot read", (_name, instanceToken) => {
    expect(() => authorizationHeader("user", "organization", instanceToken)).toThrow(/instanceToken must be/);
  });

  it("carries the instance token as its Element part on every request, GET /instance among them", async () => {
    const { client, requests } = recordingClient("cPPwym+pwr26Koz=");
    const { data } = await client.GET("/instance");
    await client.GET("/instances");
    expect(data).toEqual({ id: 7 });
    expect(requests.map((r) => [r.method, new URL(r.url).pathname, r.headers.get("Authorization")])).toEqual([
      ["GET", "/your_moms/api-v2/instance", "User user, Organization organization, Element cPPwym+pwr26Koz="],
      ["GET", "/your_moms/api-v2/instances", "User user, Organization organization, Element cPPwym+pwr26Koz="],
    ]);
  });

  it("has no Element part without an instance token", async () => {
    const { client, requests } = recordingClient();
    await client.GET("/instances");
    expect(requests[0]?.headers.get("Authorization")).toBe("User user, Organization organization");
  });
});
