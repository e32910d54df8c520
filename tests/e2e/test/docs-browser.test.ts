// The docs in a real browser: Debian's Chromium, driven by playwright-core, loads /docs from the
// running server. It must render every connector and its entries, every problem type in the
// Errors section, and every event under Webhooks (headers, answers, a payload sample), navigate, load no script or
// stylesheet from outside 127.0.0.1, render fully with every other outside request blocked, and
// log no console error of our making, and break none of its Content-Security-Policy (which the
// server sends). The create sample's connector picker must show that connector's samples. At
// 1400 and 390 px wide nothing may stick out or hide behind a scroll (code, tables), and no
// configuration key or problem type may break inside a word. Screenshots go to test-results/. No browser, no pass:
// this test fails (it does not skip) when Chromium is missing.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { readConnectors, readProblemTypes, readWebhooks, walk, type SpecDocument } from "@instances-api/spec-tools";
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

/** How the create samples make their Idempotency-Key: with node, as every system that runs the server has it. */
const newKey = 'IDEMPOTENCY_KEY=$(node -e "console.log(crypto.randomUUID())")';

const spec = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;
const connectors = readConnectors(spec);
const problemTypes = readProblemTypes(spec);
const webhooks = readWebhooks(spec).map((webhook) => ({
  ...webhook,
  summary: walk<string>(spec, ["webhooks", webhook.eventType, "post", "summary"]),
}));

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

  it("render the Errors section's table of every problem type", async () => {
    const table = page.locator(".problem-types table").first();
    await expect.poll(() => table.count()).toBeGreaterThan(0);
    const types = (await table.locator("td:first-child code").allTextContents()).map((text) => text.trim());
    expect(types).toEqual(problemTypes.map((t) => t.type));
  });

  it("navigate: clicking a connector in the menu scrolls to its section", async () => {
    const sugar = connectors.find((c) => c.key === "sugarcrmv2")!;
    const before = await page.evaluate(() => window.scrollY);
    // The side menu comes first in the page: open its Connectors group, then pick SugarCRM.
    await page.getByText("Connectors", { exact: true }).first().click();
    await page.getByText(sugar.catalog.name, { exact: true }).first().click();
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(before);
    // The first click scrolled to the Connectors section already: the second's hash comes as its scroll ends.
    await expect.poll(() => page.url()).toMatch(/#\/section\/connectors\/sugarcrm-beta$/);
    const heading = page.locator("h2", { hasText: new RegExp(`^${sugar.catalog.name}$`) }).first();
    await expect.poll(async () => (await heading.boundingBox())?.y ?? -1).toBeGreaterThanOrEqual(0);
    expect((await heading.boundingBox())!.y).toBeLessThan(900);
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}docs-${sugar.key}.png` });
  });

  it("show the operations, with curl and TypeScript samples", async () => {
    await page.getByText("Instances", { exact: true }).first().click();
    await page.getByText("Get an instance", { exact: true }).first().click();
    // Redoc renders the operation as it scrolls there: on a loaded machine (two test runs on 2 cores)
    // that took over 10 s once; alone, under 2.
    await expect
      .poll(() => page.evaluate(() => document.body.innerText.includes('curl -s -i "$API/instances/')), { timeout: 30_000 })
      .toBe(true);
    await page
      .locator("button", { hasText: /^curl$/ })
      .filter({ visible: true })
      .first()
      .click();
    // The language is one choice for the whole page; its menu may open outside the viewport.
    // (Only the typed client's samples say `await client.GET(`.)
    await page.getByRole("menuitem", { name: "TypeScript" }).dispatchEvent("click");
    await expect.poll(() => page.evaluate(() => document.body.innerText.includes("await client.GET(")), { timeout: 30_000 }).toBe(true);
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}docs-get-instance.png` });
  });

  it("show, for the connector picked beside the create samples, that connector's curl and TypeScript samples", async () => {
    await page.getByText("Create an instance", { exact: true }).first().click();
    const panel = page.locator(".panel-request-samples").filter({ hasText: newKey }).first();
    await panel.waitFor();
    const samplesOf = async () => {
      const text = await panel.innerText();
      const curl = text.slice(text.indexOf("curl:"), text.indexOf("TypeScript:"));
      const typescript = text.slice(text.indexOf("TypeScript:"));
      return { curl, typescript };
    };
    for (const [key, summary, entry] of [
      ["sugarcrmv2", "SugarCRM", "site.url"],
      ["taxify", "Taxify", "api.key"],
    ] as const) {
      await panel.getByRole("button", { name: "Example" }).click();
      await page.getByRole("menuitem", { name: summary, exact: true }).click();
      await expect.poll(async () => (await samplesOf()).curl, { message: key, timeout: 10_000 }).toContain(`"key": "${key}"`);
      const { curl, typescript } = await samplesOf();
      expect(curl).toContain(`"${entry}"`);
      expect(curl).toContain(`curl -s -X POST "$API/instances"`);
      expect(typescript).toContain(`"key": "${key}"`);
      expect(typescript).toContain("createInstancesClient");
      // A new Idempotency-Key for every create, never a fixed one that an edited body would reuse.
      const literalUuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
      expect(curl).toContain('-H "Idempotency-Key: $IDEMPOTENCY_KEY"');
      expect(curl).toContain(newKey);
      expect(typescript).toContain("crypto.randomUUID()");
      expect(curl + typescript).not.toMatch(literalUuid);
      for (const other of connectors.filter((c) => c.key !== key))
        expect(curl + typescript, `${key} shows ${other.key}`).not.toContain(`"${other.key}"`);
      // Highlighted as the other operations' samples are, in Redoc's colours (a Markdown fence was plain).
      const colours = await panel
        .locator("pre.highlighted-sample .th-token")
        .evaluateAll((tokens) => [...new Set(tokens.map((token) => getComputedStyle(token).color))]);
      expect(colours.length, key).toBeGreaterThanOrEqual(4);
      mkdirSync(results, { recursive: true });
      await page.screenshot({ path: `${results}docs-create-${key}.png` });
    }
  });

  it("show the servers' descriptions without literal Markdown", async () => {
    await page.getByText("Create an instance", { exact: true }).first().click();
    const names = await page.locator('[data-testid="server-panel-item-name"]').allTextContents();
    expect(names).toContain("Local development, the reference server on your machine (npm start).");
    expect(names.filter((name) => /[`*]/.test(name))).toEqual([]);
  });

  it("show every event under Webhooks, with its headers, its answers and a payload sample of its type", async () => {
    expect(webhooks).toHaveLength(9);
    await page.getByText("Webhooks", { exact: true }).first().click();
    for (const { eventType, operationId, summary } of webhooks) {
      await page.getByText(summary, { exact: true }).first().click();
      await expect.poll(() => page.url(), { message: eventType }).toMatch(new RegExp(`#/webhooks/${operationId.toLowerCase()}$`));
      const heading = page.locator("h2", { hasText: summary }).first();
      await heading.waitFor();
      // The webhook's section: its request (headers, body), its answers and its payload sample.
      const text = await heading.locator("xpath=ancestor::*[contains(., 'Headers') and contains(., 'Payload')][1]").innerText();
      expect(text, eventType).toContain(`POST\n${eventType}`);
      expect(text, eventType).toContain(`"type": "${eventType}"`);
      for (const header of ["webhook-id", "webhook-timestamp", "webhook-signature"])
        expect(text, `${eventType} ${header}`).toContain(header);
      for (const answer of ["2XX", "410", "default"]) expect(text, `${eventType} ${answer}`).toMatch(new RegExp(`^${answer}$`, "m"));
      if (eventType === "instance.invalid") {
        mkdirSync(results, { recursive: true });
        await page.screenshot({ path: `${results}docs-webhook-${eventType}.png` });
      }
    }
  });

  it("send no request outside the server, and none that fails", async () => {
    expect(outsideScriptsOrStyles).toEqual([]);
    expect([...new Set(blocked)]).toEqual([]);
    expect(failedResponses).toEqual([]);
    // Headless Chromium may not ask for an icon at all: the page must name its own (an empty one),
    // and every picture it shows (Redoc's logo among them) must come from the page itself.
    expect(await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href)).toBe("data:,");
    const pictures = await page.evaluate(() => [...document.images].map((image) => image.src));
    expect(pictures.length).toBeGreaterThan(0);
    expect(pictures.filter((src) => !src.startsWith("data:") && new URL(src).hostname !== "127.0.0.1")).toEqual([]);
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

  describe.each([1400, 390])("at %i px wide", (width) => {
    let narrow: Page;
    beforeAll(async () => {
      narrow = await browser.newPage({ viewport: { width, height: 900 } });
      await narrow.route("**/*", (route) => (new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort()));
    });
    afterAll(() => narrow?.close());

    it("let no code block or table stick out or hide content (connectors, a create, an event), and break no configuration key inside a word", async () => {
      await narrow.goto(`${reference.server.url}/docs/`, { waitUntil: "load" });
      await narrow
        .locator("h2", { hasText: /^Connectors$/ })
        .first()
        .waitFor({ timeout: 30_000 });
      const connectorsPage = await narrow.evaluate(layoutProblems);
      expect(connectorsPage.measured.keys).toBeGreaterThanOrEqual(connectors.flatMap((c) => c.entries).length);
      expect(connectorsPage.measured.blocks).toBeGreaterThan(connectors.length * 2); // tables and sample bodies
      expect(connectorsPage.problems).toEqual([]);
      await narrow
        .locator("h2", { hasText: /^SugarCRM Beta$/ })
        .first()
        .scrollIntoViewIfNeeded();
      mkdirSync(results, { recursive: true });
      await narrow.screenshot({ path: `${results}docs-${width}px-sugarcrmv2.png` });

      await narrow.goto(`${reference.server.url}/docs/#/instances/createinstance`, { waitUntil: "load" });
      const panel = narrow.locator(".panel-request-samples").filter({ hasText: newKey }).first();
      await panel.waitFor({ timeout: 30_000 });
      await panel.scrollIntoViewIfNeeded();
      const createPage = await narrow.evaluate(layoutProblems);
      expect(createPage.measured.samples).toBeGreaterThan(0);
      expect(createPage.problems).toEqual([]);
      await panel.scrollIntoViewIfNeeded(); // Redoc scrolls to the operation once it has rendered
      await narrow.screenshot({ path: `${results}docs-${width}px-create-instance.png` });

      // An event: its headers' patterns, its schema and its payload sample (a long image URL in it).
      await narrow.goto(`${reference.server.url}/docs/#/webhooks/receiveinstanceinvalid`, { waitUntil: "load" });
      const payload = narrow.locator(".panel-request-samples").filter({ hasText: '"type": "instance.invalid"' }).first();
      await payload.waitFor({ timeout: 30_000 });
      await payload.scrollIntoViewIfNeeded();
      const webhookPage = await narrow.evaluate(layoutProblems);
      expect(webhookPage.problems).toEqual([]);
      await narrow.screenshot({ path: `${results}docs-${width}px-webhook-instance-invalid.png` });
    });
  });

  it("save a screenshot of the whole page", async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}docs.png` });
    expect(existsSync(`${results}docs.png`)).toBe(true);
  });
});

/**
 * Runs in the page: every code block, table, configuration key and problem type on it, measured. A
 * block whose content is wider than its box (scrollWidth > clientWidth) hides some of it; one whose
 * right edge passes the viewport's is cut off; a key whose text between two dots (or a problem
 * type's prefix or name) lies on two lines was broken inside a word.
 */
function layoutProblems(): { problems: string[]; measured: { blocks: number; samples: number; keys: number } } {
  const problems: string[] = [];
  const viewport = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > viewport)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${viewport}`);
  const describe = (element: Element) => `${element.tagName.toLowerCase()} "${(element.textContent ?? "").trim().slice(0, 40)}"`;
  const blocks = [...document.querySelectorAll("pre, table, .md-table-wrapper")].filter(
    (element) => element.getBoundingClientRect().width > 0,
  );
  for (const block of blocks) {
    const box = block.getBoundingClientRect();
    if (box.right > viewport + 0.5)
      problems.push(`${describe(block)} ends at ${Math.round(box.right)} px, past the viewport (${viewport})`);
    if (block.scrollWidth > block.clientWidth + 1)
      problems.push(`${describe(block)} is ${block.scrollWidth} px wide in a ${block.clientWidth} px box`);
  }
  // A configuration key's parts are its text nodes (a <wbr> after each dot); a problem type's, its two spans.
  const keys = [...document.querySelectorAll(".connector-entries td:first-child code, .problem-types td:first-child code span")];
  for (const key of keys) {
    const cell = key.closest("td")!.getBoundingClientRect();
    if (key.getBoundingClientRect().right > cell.right + 0.5) problems.push(`key ${key.textContent} sticks out of its cell`);
    for (const part of key.childNodes) {
      if (part.nodeType !== Node.TEXT_NODE) continue;
      const range = document.createRange();
      range.selectNodeContents(part);
      const lines = [...range.getClientRects()].filter((rect) => rect.width > 0).length;
      if (lines > 1) problems.push(`key ${key.textContent} is broken inside "${part.textContent}" (${lines} lines)`);
    }
  }
  const samples = blocks.filter((block) => block.closest(".panel-request-samples")).length;
  return { problems, measured: { blocks: blocks.length, samples, keys: keys.length } };
}
