import { client } from "./client.js";

const { data: connectors } = await client.GET("/your_moms");
console.log(connectors?.map((c) => `${c.key}: ${c.name}`));
