// The environment, read once: ENCRYPTION_KEY is decoded strictly, so a key with a typo is refused
// rather than decoded to some other key. docs/configuration.md names every variable read here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../src/config.js";

const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 8 + 3)); // uses + and / in base64
const base64 = key.toString("base64");

describe("ENCRYPTION_KEY", () => {
  it.each([
    ["64 hex digits", key.toString("hex")],
    ["64 hex digits in capitals", key.toString("hex").toUpperCase()],
    ["base64, as openssl rand -base64 32 prints it", base64],
    ["base64 without its padding", base64.slice(0, -1)],
    ["URL-safe base64", key.toString("base64url")],
  ])("accepts %s", (_name, value) => {
    expect(readConfig({ ENCRYPTION_KEY: value }).encryptionKey).toEqual(key);
  });

  it.each([
    ["a stray character inside", `${base64.slice(0, 10)}!${base64.slice(10)}`],
    ["a space inside", `${base64.slice(0, 10)} ${base64.slice(10)}`],
    ["a trailing newline", `${base64}\n`],
    ["a leading space", ` ${base64}`],
    ["a dot inside", `${base64.slice(0, 10)}.${base64.slice(10)}`],
    ["standard and URL-safe alphabets mixed", base64.replace("+", "-")],
    ["a last digit with bits a 32-byte key does not use", `${base64.slice(0, 42)}${String.fromCharCode(base64.charCodeAt(42) + 1)}=`],
    ["31 bytes", key.subarray(1).toString("base64")],
    ["33 bytes", Buffer.concat([key, Buffer.from([1])]).toString("base64")],
    ["64 hex digits and a stray one", `${key.toString("hex")}g`],
    ["63 hex digits", key.toString("hex").slice(1)],
    ["nothing", ""],
  ])("refuses %s", (_name, value) => {
    expect(() => readConfig({ ENCRYPTION_KEY: value })).toThrow(ConfigError);
    expect(() => readConfig({ ENCRYPTION_KEY: value })).toThrow(/ENCRYPTION_KEY must be 32 bytes/);
  });
});

describe("PROVISIONING", () => {
  it("is sandbox unless told otherwise, so that a fresh server never calls a vendor", () => {
    expect(readConfig({}).provisioning).toBe("sandbox");
    expect(readConfig({ PROVISIONING: "" }).provisioning).toBe("sandbox");
  });

  it.each(["sandbox", "live", "off"])("accepts %s", (mode) => {
    expect(readConfig({ PROVISIONING: mode }).provisioning).toBe(mode);
  });

  it.each(["Live", "on", "true"])("refuses %s, naming the modes", (mode) => {
    expect(() => readConfig({ PROVISIONING: mode })).toThrow(/PROVISIONING must be one of sandbox, live, off/);
  });
});

describe("OUTBOUND_ALLOWED_HOSTS", () => {
  it("is empty unless set", () => {
    expect(readConfig({}).outboundAllowedHosts).toEqual([]);
  });

  it("reads host:port pairs, in lower case", () => {
    expect(readConfig({ OUTBOUND_ALLOWED_HOSTS: "127.0.0.1:8443, Vendor.Test:443,[::1]:9000" }).outboundAllowedHosts).toEqual([
      "127.0.0.1:8443",
      "vendor.test:443",
      "[::1]:9000",
    ]);
  });

  it.each(["127.0.0.1", "https://vendor.test:443", "vendor.test:0", "vendor.test:70000", "vendor.test:443/path"])("refuses %s", (value) => {
    expect(() => readConfig({ OUTBOUND_ALLOWED_HOSTS: value })).toThrow(/OUTBOUND_ALLOWED_HOSTS must list host:port pairs/);
  });
});

describe("TRUST_PROXY", () => {
  it.each<[string, { given: string | undefined; want: unknown }]>([
    ["off unless set", { given: undefined, want: false }],
    ["off when empty", { given: "", want: false }],
    ["false", { given: "false", want: false }],
    ["true: every hop", { given: "true", want: true }],
    ["a hop count, as the number Express counts with", { given: "2", want: 2 }],
    ["no hop at all", { given: "0", want: 0 }],
    ["a name Express knows", { given: "loopback", want: ["loopback"] }],
    [
      "addresses and subnets, comma-separated",
      { given: "loopback, 10.0.0.0/8,192.168.1.7", want: ["loopback", "10.0.0.0/8", "192.168.1.7"] },
    ],
    [
      "a subnet with a netmask, IPv6 and the other names",
      {
        given: "172.16.0.0/255.240.0.0, fd00::/8, linklocal, uniquelocal",
        want: ["172.16.0.0/255.240.0.0", "fd00::/8", "linklocal", "uniquelocal"],
      },
    ],
  ])("reads %s", (_name, { given, want }) => {
    expect(readConfig({ TRUST_PROXY: given }).rateLimits.trustProxy).toEqual(want);
  });

  it.each<[string, { given: string; entry: string }]>([
    ["a word", { given: "yes", entry: "yes" }],
    ["true in capitals", { given: "TRUE", entry: "TRUE" }],
    ["a host name", { given: "proxy.internal", entry: "proxy.internal" }],
    ["a prefix too long", { given: "10.0.0.0/33", entry: "10.0.0.0/33" }],
    ["an address out of range", { given: "loopback, 10.0.0.300", entry: "10.0.0.300" }],
    ["an empty entry", { given: "loopback,,10.0.0.0/8", entry: "" }],
    ["a negative hop count", { given: "-1", entry: "-1" }],
    ["a fractional hop count", { given: "1.5", entry: "1.5" }],
  ])("refuses %s at start-up, in one line naming the entry", (_name, { given, entry }) => {
    const refusal = captureRefusal(() => readConfig({ TRUST_PROXY: given }));
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(refusal.message).toBe(
      `TRUST_PROXY must be true, false, a number of proxies, or comma-separated addresses and subnets of proxies (loopback, 10.0.0.0/8), not "${entry}"`,
    );
  });
});

describe("VERIFY_MIN_INTERVAL_SECONDS", () => {
  it.each<[string, { given: string | undefined; want: number }]>([
    ["10 s unless set", { given: undefined, want: 10_000 }],
    ["a number of seconds, in milliseconds", { given: "30", want: 30_000 }],
    ["0: no limit", { given: "0", want: 0 }],
  ])("reads %s", (_name, { given, want }) => {
    expect(readConfig({ VERIFY_MIN_INTERVAL_SECONDS: given }).verifyMinIntervalMs).toBe(want);
  });

  it.each(["-1", "1.5", "ten", "010", " 5"])("refuses %o at start-up", (given) => {
    expect(() => readConfig({ VERIFY_MIN_INTERVAL_SECONDS: given })).toThrow(
      new ConfigError(`VERIFY_MIN_INTERVAL_SECONDS must be a whole number (0 or more), not "${given}"`),
    );
  });
});

function captureRefusal(read: () => unknown): Error {
  try {
    read();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal");
}

describe("vendor timing settings", () => {
  it("default to a 10 s vendor timeout, a look for due refreshes every second, a minute's lease and retry, 64 under way, 8 of one organization", () => {
    expect(readConfig({}).vendor).toEqual({
      timeoutMs: 10_000,
      refreshPollMs: 1_000,
      refreshLeaseMs: 60_000,
      refreshRetryMs: 60_000,
      refreshConcurrency: 64,
      refreshPerOrganization: 8,
    });
  });

  it.each([
    ["VENDOR_TIMEOUT_MS", "timeoutMs"],
    ["REFRESH_POLL_MS", "refreshPollMs"],
    ["REFRESH_LEASE_MS", "refreshLeaseMs"],
    ["REFRESH_RETRY_MS", "refreshRetryMs"],
    ["REFRESH_CONCURRENCY", "refreshConcurrency"],
    ["REFRESH_PER_ORGANIZATION", "refreshPerOrganization"],
  ])("read %s, and refuse a bad one naming it", (name, field) => {
    expect(readConfig({ [name]: "7" }).vendor).toMatchObject({ [field]: 7 });
    expect(() => readConfig({ [name]: "0" })).toThrow(new RegExp(`${name} must be a positive whole number`));
  });
});

describe("PUBLIC_URL", () => {
  it.each<[string, { given: string | undefined; want: string | undefined }]>([
    ["unset: no vendor webhooks", { given: undefined, want: undefined }],
    ["https, the trailing slash dropped", { given: "https://instances.example.com/", want: "https://instances.example.com" }],
    ["https with a path prefix", { given: "https://example.com/instances/", want: "https://example.com/instances" }],
    ["http on loopback (tests)", { given: "http://127.0.0.1:3000", want: "http://127.0.0.1:3000" }],
    ["http on localhost", { given: "http://localhost:8080", want: "http://localhost:8080" }],
  ])("reads %s", (_case, { given, want }) => {
    expect(readConfig({ PUBLIC_URL: given }).publicUrl).toBe(want);
  });

  it.each([
    ["http off loopback", "http://instances.example.com"],
    ["no scheme", "instances.example.com"],
    ["a query", "https://instances.example.com/?a=1"],
    ["a fragment", "https://instances.example.com/#x"],
    ["credentials", "https://user:pw@instances.example.com"],
    ["another scheme", "ftp://instances.example.com"],
    ["over 120 characters", `https://instances.example.com/${"p".repeat(100)}`],
  ])("refuses %s at start-up, naming the variable", (_case, given) => {
    expect(() => readConfig({ PUBLIC_URL: given })).toThrow(ConfigError);
    expect(() => readConfig({ PUBLIC_URL: given })).toThrow(/^PUBLIC_URL must be the server's public base URL/);
  });

  it.each(["https://user:s3cret-pw@instances.example.com", "s3cret-pw@instances.example.com", "ftp://u:s3cret-pw@h/"])(
    "never echoes a password in %s (fixed: the refusal quoted it whole)",
    (given) => {
      expect(() => readConfig({ PUBLIC_URL: given })).toThrow(ConfigError);
      expect(() => readConfig({ PUBLIC_URL: given })).not.toThrow(/s3cret-pw/);
    },
  );
});

describe("docs/configuration.md", () => {
  /**
   * The variables readConfig reads with none set, and any config.ts names as `env.NAME` (one read
   * only when another is set would escape the first).
   */
  function variablesRead(): string[] {
    const source = readFileSync(new URL("../src/config.ts", import.meta.url), "utf8");
    const read = new Set([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!));
    const env = new Proxy<NodeJS.ProcessEnv>(
      {},
      {
        get: (_target, name) => {
          if (typeof name === "string") read.add(name);
          return undefined;
        },
      },
    );
    readConfig(env);
    return [...read].sort();
  }

  /** The variables the first column of the file's tables names (`PORT`, `HOST` in one row). */
  function variablesDocumented(): string[] {
    const markdown = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
    const firstCells = markdown.split("\n").flatMap((line) => /^\|([^|]*)\|/.exec(line)?.[1] ?? []);
    return firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1]!)).sort();
  }

  it("documents every variable the server reads, each once, and none it does not read", () => {
    expect(variablesRead()).toContain("PORT");
    expect(variablesDocumented()).toEqual(variablesRead());
  });
});
