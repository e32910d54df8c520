import { client } from "./client.js";

const { data: instances, response } = await client.GET("/instances", {
  params: { query: { tags: ["helpdesk"], your_mom: "freshservice", pageSize: 50 } },
});
const nextPage = response.headers.get("your_moms-next-page-token"); // or: listAllInstances(client, query)
console.log(
  instances?.map((i) => i.name),
  nextPage,
);
