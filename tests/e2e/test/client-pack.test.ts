// An outside user's view: the packed tarball installed into a fresh project outside the
// workspace, a small program compiled against its type declarations and run against the real
// server; its verifyEvent runs on the dependency the install brought (standardwebhooks).
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReferenceServer, type ReferenceServer } from "./reference-server.js";

const packageDir = path.dirname(createRequire(import.meta.url).resolve("@instances-api/client/package.json"));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const work = mkdtempSync(path.join(tmpdir(), "instances-api-pack-"));
let reference: ReferenceServer;

beforeAll(async () => {
  reference = await startReferenceServer();
});
afterAll(async () => {
  await reference.stop();
  rmSync(work, { recursive: true, force: true });
});

const program = `import { createInstance, createInstancesClient, EventVerificationError, listAllInstances, verifyEvent, type ConfigurationOf } from "@instances-api/client";

const configuration: ConfigurationOf<"infobip"> = {
  "messaging.sms.infobip.sender": "+17777777777",
  "messaging.sms.infobip.username": "acme",
  "messaging.sms.infobip.password": "s3cret",
  "messaging.sms.infobip.callback.url": "https://www.maycoolapp.com/auth",
};
const client = createInstancesClient({
  baseUrl: process.env.API_URL ?? "",
  userSecret: process.env.USER_SECRET ?? "",
  organizationSecret: process.env.ORGANIZATION_SECRET ?? "",
});
const { data, error } = await createInstance(client, { your_mom: { key: "infobip" }, configuration, name: "SMS" });
if (error) throw new Error(error.message);
const token: string = data.token;
const names: string[] = [];
for await (const instance of listAllInstances(client)) names.push(instance.name);
let refused = "";
try {
  const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1,AAAA" };
  verifyEvent(data.eventSigningSecret, headers, "{}");
} catch (error) {
  if (error instanceof EventVerificationError) refused = error.reason;
}
console.log(JSON.stringify({ id: data.id, key: data.your_mom.key, names, token, refused }));
`;

describe("the packed client", () => {
  it("installs, compiles and runs in a project of its own", async () => {
    execFileSync("npm", ["pack", "--pack-destination", work, "--silent"], { cwd: packageDir, stdio: "pipe" });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    // What a user gets: code, types, README and LICENSE; no source map naming sources it lacks.
    const listed = execFileSync("tar", ["tzf", path.join(work, tarball!)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    expect(listed).toEqual(
      expect.arrayContaining(["package/LICENSE", "package/README.md", "package/dist/index.js", "package/dist/index.d.ts"]),
    );
    expect(listed.filter((file) => file.endsWith(".map"))).toEqual([]);

    const project = path.join(work, "project");
    execFileSync("mkdir", ["-p", path.join(project, "src")]);
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "outside-user", private: true, type: "module" }));
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          lib: ["ES2023", "DOM"],
          types: [],
          outDir: "dist",
          skipLibCheck: false,
        },
        include: ["src"],
      }),
    );
    writeFileSync(path.join(project, "src", "main.ts"), `declare const process: { env: Record<string, string | undefined> };\n${program}`);
    execFileSync("npm", ["install", path.join(work, tarball!), "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], {
      cwd: project,
      stdio: "pipe",
    });
    execFileSync(process.execPath, [tsc, "-p", project], { cwd: project, stdio: "pipe" });

    // Run asynchronously: the server answers from this process's event loop.
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(project, "dist", "main.js")], {
      cwd: project,
      env: {
        ...process.env,
        API_URL: reference.server.apiUrl,
        USER_SECRET: reference.userSecret,
        ORGANIZATION_SECRET: reference.organizationSecret,
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    const printed = JSON.parse(stdout) as { key: string; names: string[]; token: unknown; refused: string };
    expect(printed).toMatchObject({ key: "infobip", names: ["SMS"], refused: "bad-signature" });
    expect(typeof printed.token).toBe("string");
  });

  it("fails to compile a program that leaves out a required entry", () => {
    const project = path.join(work, "project");
    writeFileSync(
      path.join(project, "src", "main.ts"),
      `declare const process: { env: Record<string, string | undefined> };\n${program.replace(/\s*"messaging\.sms\.infobip\.password": "s3cret",/, "")}`,
    );
    let failure = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", project], { cwd: project, stdio: "pipe", encoding: "utf8" });
    } catch (error) {
      failure = String((error as { stdout?: string }).stdout);
    }
    expect(failure).toMatch(/messaging\.sms\.infobip\.password/);
  });
});
