// @instances-api/client: a typed client for the instances API. The types are generated from the
// spec (src/generated/schema.ts) and named in types.ts; the calls go through openapi-fetch. This
// file sets the Authorization header and walks the list's pages; instance-requests.ts types the
// create, replace and update bodies by connector; events.ts verifies the events the API sends.
import createClient, { type ClientOptions } from "openapi-fetch";
import type { Instance, InstancesClient, ListInstancesQuery, Problem, paths } from "./types.js";

export type * from "./types.js";
export * from "./instance-requests.js";
export * from "./proxy.js";
export * from "./events.js";

export interface InstancesClientOptions {
  /** The API's base URL, with its base path: `http://127.0.0.1:3000/your_moms/api-v2`. */
  baseUrl: string;
  userSecret: string;
  organizationSecret: string;
  /**
   * An instance's token (as its create, or its last token rotation, answered it): every request
   * then carries it as the header's `Element` part, and `GET /instance` answers that instance. The
   * token names the instance; it does not confine the client to it (the organization's secrets
   * still act for the organization). Once the token is rotated or the instance deleted, every
   * request of this client is refused (401): keep a client without it for the organization's own
   * calls, a token rotation among them.
   */
  instanceToken?: string;
  /** A fetch implementation; the global one by default. */
  fetch?: ClientOptions["fetch"];
}

/**
 * The header the API authenticates with: `User <user secret>, Organization <organization secret>`,
 * and with an instance's token `, Element <instance token>` after it (the form that names that instance).
 */
export function authorizationHeader(userSecret: string, organizationSecret: string, instanceToken?: string): string {
  const account = `User ${userSecret}, Organization ${organizationSecret}`;
  if (instanceToken === undefined) return account;
  // An empty token (an unset variable passed as "") or one with a space or comma would make a header
  // the server cannot read, and every request of the client a failed authentication.
  if (!/^[^\s,]+$/.test(instanceToken)) throw new TypeError("instanceToken must be an instance's token: not empty, no space or comma");
  return `${account}, Element ${instanceToken}`;
}

/** An openapi-fetch client for the API, with the Authorization header set on every request. */
export function createInstancesClient({
  baseUrl,
  userSecret,
  organizationSecret,
  instanceToken,
  fetch,
}: InstancesClientOptions): InstancesClient {
  const client = createClient<paths>({ baseUrl, ...(fetch ? { fetch } : {}) });
  const authorization = authorizationHeader(userSecret, organizationSecret, instanceToken);
  client.use({
    onRequest({ request }) {
      request.headers.set("Authorization", authorization);
      return request;
    },
  });
  return client;
}

/** A failed call, with the API's problem body. */
export class InstancesApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.message);
    this.name = "InstancesApiError";
  }
}

/**
 * Every instance the query matches, page after page: follows the `your_moms-next-page-token`
 * header until a response comes without one (a page may be short, even empty, while more follow),
 * so the caller never handles a cursor. Throws InstancesApiError when a page fails.
 */
export async function* listAllInstances(
  client: InstancesClient,
  query: Omit<ListInstancesQuery, "nextPage"> = {},
): AsyncGenerator<Instance> {
  let nextPage: string | undefined;
  do {
    const { data, error, response } = await client.GET("/instances", {
      params: { query: { ...query, ...(nextPage === undefined ? {} : { nextPage }) } },
    });
    if (error !== undefined) throw new InstancesApiError(response.status, error);
    yield* data;
    nextPage = response.headers.get("your_moms-next-page-token") ?? undefined;
  } while (nextPage !== undefined);
}
