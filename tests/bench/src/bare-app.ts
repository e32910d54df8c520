// The ceiling: a bare Express app with the API's create, get-by-id and list routes, no
// validation and no database (an in-memory Map). `node dist/bare-app.js <port>`.
import express from "express";

const base = "/your_moms/api-v2";
const instances = new Map<number, Record<string, unknown>>();
let nextId = 1;

const app = express();
app.use(express.json({ limit: "1mb" }));
app.post(`${base}/instances`, (req, res) => {
  const id = nextId++;
  const instance = { id, createdDate: new Date().toISOString(), ...(req.body as Record<string, unknown>) };
  instances.set(id, instance);
  res.status(200).json(instance);
});
app.get(`${base}/instances/:id`, (req, res) => {
  const instance = instances.get(Number(req.params.id));
  if (!instance) res.status(404).json({ message: "not found" });
  else res.status(200).json(instance);
});
app.get(`${base}/instances`, (_req, res) => {
  const page: Record<string, unknown>[] = [];
  for (const instance of instances.values()) {
    if (page.length === 20) break;
    page.push(instance);
  }
  res.status(200).json(page);
});
const server = app.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
