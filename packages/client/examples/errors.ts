import { createInstancesClient, type Problem } from "@instances-api/client";

const client = createInstancesClient({
  baseUrl: "http://127.0.0.1:3000/your_moms/api-v2",
  userSecret: process.env.USER_SECRET ?? "",
  organizationSecret: process.env.ORGANIZATION_SECRET ?? "",
});

// Every error is a Problem body: a message for people, its type and fields for programs. The type
// is one of the API's problem types (the docs list them under Errors): a misspelt one does not compile.
function explain(problem: Problem): string {
  if (problem.type === "urn:instances-api:problem:unavailable") return "the server cannot answer for now; retry later";
  if (problem.missingEntries) return `add ${problem.missingEntries.join(", ")}`;
  if (problem.unknownEntries) return problem.unknownEntries.map((u) => `${u.entry}: did you mean ${u.suggestion}?`).join("; ");
  return `${problem.message} (request ${problem.requestId})`;
}

const { error, response } = await client.GET("/instances/{id}", { params: { path: { id: 42 } } });
if (error) console.log(response.status, explain(error));
