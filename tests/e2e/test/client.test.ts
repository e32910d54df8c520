// The client against the real reference server: every connector created from the spec's example
// requests, filtered and paged lists, update, token rotation, a client holding an instance token,
// delete, and typed errors.
import { readCreateExamples } from "@instances-api/spec-tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createInstancesClient,
  InstancesApiError,
  listAllInstances,
  type CreateInstanceRequest,
  type InstancesClient,
} from "@instances-api/client";
import { startReferenceServer, type ReferenceServer } from "./reference-server.js";
import { spec } from "./spec-responses.js";

const examples = readCreateExamples(spec);
let reference: ReferenceServer;
let client: InstancesClient;

beforeAll(async () => {
  reference = await startReferenceServer();
  client = createInstancesClient({
    baseUrl: reference.server.apiUrl,
    userSecret: reference.userSecret,
    organizationSecret: reference.organizationSecret,
  });
});
afterAll(() => reference.stop());

describe("the client", () => {
  it.each(examples.map((example) => [example.key, example] as const))(
    "creates a %s instance from the spec's example request",
    async (_key, example) => {
      const body = example.body as unknown as CreateInstanceRequest;
      const { data, error, response } = await client.POST("/instances", { body: { ...body, tags: ["seed"] } });
      expect(error).toBeUndefined();
      expect(response.status).toBe(200);
      expect(data?.your_mom).toMatchObject({ key: example.key });
      expect(data?.token).toBeTypeOf("string");
    },
  );

  it("lists with a tag filter, and walks every page without handling cursors", async () => {
    const { data } = await client.GET("/instances", { params: { query: { tags: ["seed"], your_mom: "taxify" } } });
    expect(data?.map((i) => i.your_mom.key)).toEqual(["taxify"]);

    const all = [];
    for await (const instance of listAllInstances(client, { tags: ["seed"], pageSize: 2 })) all.push(instance.your_mom.key);
    expect(all.sort()).toEqual(["freshservice", "infobip", "quickbooksonprem", "sugarcrmv2", "taxify"]);
  });

  it("updates, rotates the token and deletes", async () => {
    const created = await client.POST("/instances", {
      body: { your_mom: { key: "taxify" }, configuration: { "api.key": "first" }, name: "Taxes" },
    });
    const id = created.data!.id;
    const etag = created.response.headers.get("ETag")!;

    const patched = await client.PATCH("/instances/{id}", {
      params: { path: { id }, header: { "If-Match": etag } },
      body: { name: "Sales tax", configuration: { "api.key": "second" } },
    });
    expect(patched.data).toMatchObject({ name: "Sales tax", configuration: { "api.key": "********" } });

    const stale = await client.PATCH("/instances/{id}", { params: { path: { id }, header: { "If-Match": etag } }, body: { name: "x" } });
    expect(stale.response.status).toBe(412);
    expect(stale.error?.status).toBe(412);

    const rotated = await client.POST("/instances/{id}/token", { params: { path: { id } } });
    expect(rotated.data?.token).not.toBe(created.data!.token);

    const deleted = await client.DELETE("/instances/{id}", { params: { path: { id } } });
    expect(deleted.response.status).toBe(204);
    const gone = await client.GET("/instances/{id}", { params: { path: { id } } });
    expect(gone.error).toMatchObject({ status: 404 });
  });

  it("speaks for one instance with its token: GET /instance answers it, until the token is rotated", async () => {
    const created = await client.POST("/instances", {
      body: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "Held by its token" },
    });
    const { id, token } = created.data!;
    const forInstance = (instanceToken: string) =>
      createInstancesClient({
        baseUrl: reference.server.apiUrl,
        userSecret: reference.userSecret,
        organizationSecret: reference.organizationSecret,
        instanceToken,
      });

    const current = await forInstance(token!).GET("/instance");
    expect(current.data).toMatchObject({ id, name: "Held by its token", configuration: { "api.key": "********" } });

    await client.POST("/instances/{id}/token", { params: { path: { id } } });
    const rotatedAway = await forInstance(token!).GET("/instance");
    expect(rotatedAway.response.status).toBe(401);
    expect(rotatedAway.error?.message).toMatch(/Element token is not valid/);
  });

  it("reads a typed 400 that names the missing entries", async () => {
    const body = { your_mom: { key: "freshservice" }, configuration: { username: "u" }, name: "n" } as unknown as CreateInstanceRequest;
    const { data, error, response } = await client.POST("/instances", { body });
    expect(data).toBeUndefined();
    expect(response.status).toBe(400);
    expect(error?.missingEntries).toEqual(["password", "subdomain"]);
    expect(error?.message).toBe("freshservice is missing required configuration entries: password, subdomain");
  });

  it("throws InstancesApiError from the page walker on a bad request", async () => {
    const wrong = createInstancesClient({ baseUrl: reference.server.apiUrl, userSecret: "nobody", organizationSecret: "nowhere" });
    const walk = async () => {
      for await (const _ of listAllInstances(wrong)) void _;
    };
    await expect(walk()).rejects.toBeInstanceOf(InstancesApiError);
    await expect(walk()).rejects.toMatchObject({ status: 401 });
  });
});
