// Drives the demo page (examples/demo/index.html) in headless Chromium, as a user would:
// opens it, presses "Run the demo agent", waits for the run to complete, then drops the
// connection, starts a second run while disconnected, reconnects and waits for it too.
//
//   node demo.mjs http://127.0.0.1:PORT/      (CHROMIUM=/path/to/chromium, default /usr/bin/chromium)
//
// Prints one line `RESULT {json}` on stdout: the list items the page shows (type, tool,
// cursor, run id, seq, success) after each phase, and the `after` cursor of each connection
// the page opened. tests/browser.rs makes the assertions; this script only fails when the
// page does not get there in time.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.argv[2];
if (!base) {
  console.error("usage: node demo.mjs http://127.0.0.1:PORT/");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const STEP_TIMEOUT = 15_000;

const hardStop = setTimeout(() => {
  console.error("the browser test took more than 90 s: giving up");
  process.exit(3);
}, 90_000);
hardStop.unref();

async function shown(page) {
  return page.$$eval("#events li", (items) =>
    items.map((li) => ({
      type: li.dataset.type ?? null,
      control: li.dataset.control ?? null,
      tool: li.querySelector(".tool")?.textContent ?? null,
      text: li.querySelector(".text")?.textContent ?? li.textContent,
      cursor: li.dataset.cursor ?? null,
      runId: li.dataset.runId ?? null,
      seq: li.dataset.seq ? Number(li.dataset.seq) : null,
      success: li.dataset.success ? li.dataset.success === "true" : null,
    })),
  );
}

const userDataDir = await mkdtemp(join(tmpdir(), "agent-events-chromium-"));
let context;
let exitCode = 0;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-proxy-server",
    ],
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") console.error(`[page console] ${m.text()}`);
  });

  await page.goto(new URL("/?user=browser-test", base).href);
  await page.waitForSelector('#status[data-state="open"]');

  // Phase 1: a run, live.
  await page.click("#run");
  await page.waitForSelector('#events li[data-type="agent_completed"]');
  const live = await shown(page);

  // Phase 2: disconnected while a second run happens, then resume after the last cursor.
  await page.evaluate(() => window.agentDemo.pause());
  await page.waitForSelector('#status[data-state="closed"]');
  const started = await page.evaluate(async () => {
    const response = await fetch("/demo/run", {
      method: "POST",
      headers: { Authorization: `Bearer ${window.agentDemo.token}` },
    });
    return response.status;
  });
  // Let part or all of the run happen while no connection is open.
  await page.waitForTimeout(300);
  await page.evaluate(() => window.agentDemo.resume());
  await page.waitForFunction(
    () => document.querySelectorAll('#events li[data-type="agent_completed"]').length >= 2,
  );
  // Anything shown twice would arrive right behind the last event: give it the time to.
  await page.waitForTimeout(200);
  const resumed = await shown(page);
  const connects = await page.evaluate(() => window.agentDemo.connects);
  console.log(`RESULT ${JSON.stringify({ live, started, resumed, connects, pageErrors })}`);
} catch (e) {
  console.error(`browser test failed: ${e?.stack ?? e}`);
  exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
}
process.exit(exitCode);
