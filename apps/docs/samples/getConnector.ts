import { client } from "./client.js";

const { data, error } = await client.GET("/your_moms/{key}", { params: { path: { key: "freshservice" } } });
if (error) throw new Error(error.message);
console.log(data.configuration.filter((entry) => entry.required).map((entry) => entry.key));
