// The docs in a real browser: Debian's Chromium, driven by playwright-core, loads /docs from the
// running server. It must render every connector and its entries, navigate, load no script or
// stylesheet from outside 127.0.0.1, render fully with every other outside request blocked, and
// log no console error of our making, and break none of its Content-Security-Policy (which the
// server sends). A screenshot goes to test-results/. No browser, no pass:
// this test fails (it does not skip) when Chromium is missing.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { readConnectors, type SpecDocument } from "@instances-api/spec-tools";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReferenceServer, type ReferenceServer } from "./reference-server.js";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const results = fileURLToPath(new URL("../test-results/", import.meta.url));
const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

let reference: ReferenceServer;
let browser: Browser;
let page: Page;
const blocked: string[] = [];
/** Requests to the server that failed (a missing /favicon.ico was one). */
const failedResponses: string[] = [];
const outsideScriptsOrStyles: string[] = [];
const consoleErrors: string[] = [];
const cspMessages: string[] = [];
type Violation = { directive: string; blocked: string; line: number; column: number };
let policy: string | null = null;
let html = "";

beforeAll(async () => {
  if (!existsSync(executablePath)) {
    throw new Error(`No Chromium at ${executablePath}: install Debian's chromium (apt-get install chromium), as .ci/run does`);
  }
  reference = await startReferenceServer();
  browser = await chromium.launch({ executablePath, args: flags });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:" || url.protocol === "blob:") return route.continue();
    blocked.push(url.href);
    if (["script", "stylesheet", "font"].includes(route.request().resourceType())) outsideScriptsOrStyles.push(url.href);
    return route.abort("blockedbyclient");
  });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(`${message.text()} @ ${message.location().url}`);
  });
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspMessages.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() >= 400) failedResponses.push(`${response.status()} ${response.url()}`);
  });
  // Every violation is also an event in the page: keep them, whatever Chromium logs.
  await page.addInitScript(() => {
    const seen: Violation[] = [];
    Object.assign(window, { cspViolations: seen });
    document.addEventListener("securitypolicyviolation", (event) =>
      seen.push({ directive: event.effectiveDirective, blocked: event.blockedURI, line: event.lineNumber, column: event.columnNumber }),
    );
  });
  const response = await page.goto(`${reference.server.url}/docs/`, { waitUntil: "load" });
  policy = (await response?.headerValue("content-security-policy")) ?? null;
  html = (await response?.text()) ?? "";
  await page
    .locator("h2", { hasText: /^Connectors$/ })
    .first()
    .waitFor({ timeout: 30_000 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await reference?.stop();
});

const connectors = readConnectors(
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument,
);

describe("the docs in Chromium", () => {
  it("render each connector's section with its entries", async () => {
    for (const connector of connectors) {
      const heading = page.locator("h2", { hasText: new RegExp(`^${connector.catalog.name}$`) }).first();
      await expect.poll(() => heading.count(), { message: connector.key }).toBeGreaterThan(0);
      const section = heading.locator("xpath=ancestor::div[.//table][1]");
      for (const entry of connector.entries) {
        expect(
          await section.locator("code", { hasText: new RegExp(`^${entry.key.replace(/\./g, "\\.")}$`) }).count(),
          `${connector.key} ${entry.key}`,
        ).toBeGreaterThan(0);
      }
    }
  });

  it("navigate: clicking a connector in the menu scrolls to its section", async () => {
    const sugar = connectors.find((c) => c.key === "sugarcrmv2")!;
    const before = await page.evaluate(() => window.scrollY);
    // The side menu comes first in the page: open its Connectors group, then pick SugarCRM.
    await page.getByText("Connectors", { exact: true }).first().click();
    await page.getByText(sugar.catalog.name, { exact: true }).first().click();
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(before);
    expect(page.url()).toMatch(/#\/section\/connectors\/sugarcrm-beta$/);
    const heading = page.locator("h2", { hasText: new RegExp(`^${sugar.catalog.name}$`) }).first();
    await expect.poll(async () => (await heading.boundingBox())?.y ?? -1).toBeGreaterThanOrEqual(0);
    expect((await heading.boundingBox())!.y).toBeLessThan(900);
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}docs-${sugar.key}.png` });
  });

  it("show the operations, with curl and TypeScript samples", async () => {
    await page.getByText("Instances", { exact: true }).first().click();
    await page.getByText("Create an instance", { exact: true }).first().click();
    await expect.poll(() => page.evaluate(() => document.body.innerText.includes("curl -X POST"))).toBe(true);
    await page
      .locator("button", { hasText: /^curl$/ })
      .filter({ visible: true })
      .first()
      .click();
    // The language is one choice for the whole page; its menu may open outside the viewport.
    await page.getByRole("menuitem", { name: "TypeScript" }).dispatchEvent("click");
    await expect.poll(() => page.evaluate(() => document.body.innerText.includes("createInstancesClient"))).toBe(true);
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}docs-create-instance.png` });
  });

  it("send no request outside the server, and none that fails", () => {
    expect(outsideScriptsOrStyles).toEqual([]);
    expect([...new Set(blocked)]).toEqual([]);
    expect(failedResponses).toEqual([]);
  });

  it("log no console error of our making", () => {
    const ours = consoleErrors.filter((error) => !blocked.some((url) => error.includes(url)) && !/ERR_BLOCKED_BY_CLIENT/.test(error));
    expect(ours).toEqual([]);
  });

  it("break none of the page's Content-Security-Policy", async () => {
    expect(policy).toMatch(/script-src/);
    expect(cspMessages).toEqual([]);
    // One refusal is by design: the search library (FlexSearch) probes, inside a try, whether it may
    // compile its worker from a string (`_factory ??= Function(...)`); the policy allows no eval,
    // so it indexes on the page instead. Any other violation fails.
    const violations = await page.evaluate(() => (window as unknown as { cspViolations: Violation[] }).cspViolations);
    const lines = html.split("\n");
    const searchProbe = (v: Violation) =>
      v.directive === "script-src" && v.blocked === "eval" && /_factory\?\?=$/.test(lines[v.line - 1]?.slice(0, v.column - 1) ?? "");
    expect(violations.filter((v) => !searchProbe(v))).toEqual([]);
  });

  it("save a screenshot of the whole page", async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}docs.png` });
    expect(existsSync(`${results}docs.png`)).toBe(true);
  });
});
