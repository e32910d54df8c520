// The answers that hand out a token say so in their schema (CreatedInstance: an Instance whose
// `token` and `eventSigningSecret` are required), so that generated types hold the token as always there. The create's
// answer is a CreatedInstance, or, for a create retried with its Idempotency-Key once the instance
// has changed, the instance without a token: a replay never hands out a token that may be revoked.
import { describe, expect, it } from "vitest";
import { bundle, resolve, validate } from "./bundle.js";

const answer = (path: string, method: string) =>
  `#/paths/${path.replace(/\//g, "~1")}/${method}/responses/200/content/application~1json/schema`;
const rotation = answer("/instances/{id}/token", "post");
const create = answer("/instances", "post");

// The guides' create answers, as the spec gives them, with their tokens, and with the event
// signing secret the server adds to them (the guides predate events).
const eventSigningSecret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const createdExamples = Object.entries(
  (bundle.paths["/instances"] as { post: { responses: Record<string, { content: Record<string, { examples: object }> }> } }).post.responses[
    "200"
  ]!.content["application/json"]!.examples,
).map(([name, example]): [string, Record<string, unknown>] => [
  name,
  { ...resolve<{ value: Record<string, unknown> }>(example).value, eventSigningSecret },
]);

function withoutToken(instance: Record<string, unknown>): Record<string, unknown> {
  const { token: _token, eventSigningSecret: _secret, ...rest } = instance;
  return rest;
}

describe("an answer that holds a token", () => {
  it("is described by CreatedInstance, an Instance with a required token and event signing secret", () => {
    expect(validate("#/components/schemas/CreatedInstance", withoutToken(createdExamples[0]![1]))).toEqual([
      expect.objectContaining({ keyword: "required", params: { missingProperty: "token" } }),
      expect.objectContaining({ keyword: "required", params: { missingProperty: "eventSigningSecret" } }),
    ]);
    expect(validate("#/components/schemas/Instance", withoutToken(createdExamples[0]![1]))).toEqual([]);
  });

  it.each(createdExamples)("the %s create answer is valid for create and for token rotation", (_name, example) => {
    expect(example.token).toEqual(expect.any(String));
    expect(validate(create, example)).toEqual([]);
    expect(validate(rotation, example)).toEqual([]);
  });

  it.each(createdExamples)("without its token, the %s answer is no token rotation's answer", (_name, example) => {
    expect(validate(rotation, withoutToken(example))).not.toEqual([]);
  });

  it.each(createdExamples)("without its token, the %s answer is still a create's (a retry of a changed instance)", (_name, example) => {
    expect(validate(create, withoutToken(example))).toEqual([]);
  });
});
