// Drives GET /playground in headless Chromium (Debian's chromium package, through puppeteer-core
// pinned by package-lock.json; no browser is downloaded):
//   node browser.mjs main http://127.0.0.1:PORT SCREENSHOT.png   (the page, everything it shows)
//   node browser.mjs keys http://127.0.0.1:PORT KEY              (a server that needs API keys)
//   node browser.mjs stream http://127.0.0.1:PORT                (output while a run goes on)
// Types and runs code as a user would, and prints one JSON object with what the page showed,
// for tests/http/playground_test.cc, which makes the assertions. Every wait is on a DOM state
// (a selector, an attribute, a loaded image), bounded by puppeteer's timeout; "timing" is
// measured, never asserted.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const [scenario, base, arg] = process.argv.slice(2);
const executablePath = [process.env.PYRUNNER_CHROMIUM, "/usr/lib/chromium/chromium", "/usr/bin/chromium"]
  .find((p) => p && fs.existsSync(p));
const downloads = fs.mkdtempSync(path.join(os.tmpdir(), "pyrunner-playground-"));
const names = new Map(); // a download's guid (its file's name in `downloads`) -> its name
const out = { timing: {} };
const t0 = performance.now();
const phase = (name) => (out.timing[name] = Math.round(performance.now() - t0));

const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  pipe: true, // DevTools over a pipe: no debugging port on the machine
  // --no-sandbox: the tests run as root, where Chromium refuses its own sandbox. This browser
  // only ever loads the test server's page on 127.0.0.1.
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-background-networking", "--disable-sync",
         "--disable-component-update", "--disable-default-apps"],
});
// What the page shows after a run: its status, output and numbers.
const shown = (page) => page.evaluate(() => ({
  status: document.getElementById("status").dataset.status,
  statusText: document.getElementById("status").textContent,
  stdout: [...document.querySelectorAll("#output pre.stdout")].map((e) => e.textContent).join(""),
  stderr: [...document.querySelectorAll("#output pre.stderr")].map((e) => e.textContent).join(""),
  time: document.getElementById("stat-time").textContent,
  memory: document.getElementById("stat-memory").textContent,
  exit: document.getElementById("stat-exit").textContent,
  count: document.getElementById("stat-count-row").hidden ? null : document.getElementById("stat-count").textContent,
  statsShown: !document.getElementById("stats").hidden,
  values: [...document.querySelectorAll("#output .result.value pre")].map((e) => e.textContent),
  exception: document.querySelector("#output .exception-title")?.textContent ?? null,
  traceback: document.querySelector("#output .exception .traceback")?.textContent ?? null,
  bold: document.querySelectorAll("#output b").length,
}));

// Clicks Run (or presses Ctrl+Enter) and waits until the page counts one more run as finished.
async function runIn(page, how = "button") {
  const runs = Number(await page.$eval("body", (b) => b.dataset.runs)) + 1;
  if (how === "keys") {
    await page.focus("#code");
    await page.keyboard.down("Control");
    await page.keyboard.press("Enter");
    await page.keyboard.up("Control");
  } else {
    await page.click("#run");
  }
  await page.waitForSelector(`body[data-runs='${runs}']`);
  return shown(page);
}

// Code pasted in at once (typing it would go through the editor's auto-indentation).
const paste = (page, code) =>
  page.$eval("#code", (e, v) => { e.value = v; e.dispatchEvent(new Event("input")); }, code);

async function open(page) {
  const response = await page.goto(base + "/playground", { waitUntil: "load" });
  out.page = { status: response.status(), headers: response.headers(), title: await page.title() };
  await page.waitForSelector("body[data-ready='true']");
}

async function main(page, screenshot, cdp) {
  await page.setViewport({ width: 1280, height: 900 });
  await open(page);
  phase("loaded");
  out.limits = await page.evaluate(() => {
    const input = (id) => {
      const e = document.getElementById(id);
      return { min: e.min, max: e.max, value: e.value };
    };
    return { timeout: input("timeout"), memory: input("memory"), server: document.getElementById("server").textContent };
  });
  out.examples = await page.$$eval("#example option", (os) => os.map((o) => o.textContent));

  const run = (how) => runIn(page, how);
  const setCode = (code) => paste(page, code);
  const example = async (name) => {
    const index = out.examples.indexOf(name) - 1; // after "Choose an example…"
    await page.select("#example", String(index));
  };

  // 1. Typed as a user types: Enter keeps the indentation (one more after a colon), Shift+Tab
  // dedents, Tab indents; Ctrl+Enter runs. Output is text, never HTML.
  await page.click("#code");
  await page.keyboard.down("Control");
  await page.keyboard.press("a");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  await page.keyboard.type("for i in range(3):\nprint(i * i)\n");
  await page.keyboard.down("Shift");
  await page.keyboard.press("Tab");
  await page.keyboard.up("Shift");
  await page.keyboard.type("print('<b>not bold</b>')\nif True:\n");
  await page.keyboard.down("Shift");
  await page.keyboard.press("Tab");
  await page.keyboard.up("Shift");
  await page.keyboard.press("Tab");
  await page.keyboard.type("print('tabbed')");
  out.typed = await page.$eval("#code", (e) => e.value);
  out.typedRun = await run("keys");
  phase("typed");

  // 2. An exception: its name, value and traceback, the status, the exit code.
  await setCode("def ratio(a, b):\n    return a / b\n\nprint('before')\nratio(1, 0)\n");
  out.exception = await run();

  // 3. A figure: an <img> from a data: URL that really decodes.
  await example("Plot (matplotlib)");
  out.plotRun = await run();
  await page.waitForFunction(() => {
    const img = document.querySelector("#output img.figure");
    return img && img.complete && img.naturalWidth > 0;
  });
  out.figure = await page.$eval("#output img.figure", (img) => ({
    naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    scheme: img.src.slice(0, img.src.indexOf(",") + 1), alt: img.alt,
  }));
  phase("figure");

  // 4. A DataFrame: its table rendered inside the sandboxed iframe, styled by frame.css.
  await example("DataFrame (pandas)");
  out.dataframeRun = await run();
  const tableFrame = await (await page.waitForSelector("#output iframe.html-result")).contentFrame();
  await tableFrame.waitForSelector("table.dataframe tbody tr");
  out.dataframe = {
    sandbox: await page.$eval("#output iframe.html-result", (f) => f.getAttribute("sandbox")),
    rows: await tableFrame.$$eval("table.dataframe tbody tr", (rows) => rows.length),
    headers: await tableFrame.$$eval("table.dataframe thead th", (ths) => ths.map((t) => t.textContent)),
    firstCity: await tableFrame.$eval("table.dataframe tbody tr td", (td) => td.textContent),
    styled: await tableFrame.$eval("body", (b) => getComputedStyle(b).marginTop),
  };
  phase("dataframe");

  // 5. A result whose HTML carries scripts (a <script>, an onerror handler): shown, not run.
  await setCode(
    "class Evil:\n" +
      "    def _repr_html_(self):\n" +
      "        return ('<p id=\"evil\">rendered</p>'\n" +
      "                '<script>parent.document.title = \"pwned\"; parent.pwned = 1; document.title = \"pwned\";</script>'\n" +
      "                '<img src=\"data:,\" onerror=\"parent.document.title = \\'pwned\\'; parent.pwned = 2\">')\n" +
      "Evil()\n");
  out.scriptRun = await run();
  const evilFrame = await (await page.waitForSelector("#output iframe.html-result")).contentFrame();
  await evilFrame.waitForSelector("#evil");
  await evilFrame.waitForFunction(() => document.querySelector("img").complete); // its onerror's moment
  out.script = {
    rendered: await evilFrame.$eval("#evil", (p) => p.textContent),
    frameTitle: await evilFrame.title(),
    pageTitle: await page.title(),
    pwned: await page.evaluate(() => typeof window.pwned),
    sandbox: await page.$eval("#output iframe.html-result", (f) => f.getAttribute("sandbox")),
  };
  phase("script");

  // 6. Files written: download links (blob URLs) that download what the run wrote.
  await example("Files (download)");
  out.filesRun = await run();
  out.files = await page.$$eval("#output .files a.download", (as) =>
    as.map((a) => ({ text: a.textContent, download: a.download, scheme: a.href.split(":")[0] })));
  const completed = new Promise((resolve) =>
    cdp.on("Browser.downloadProgress", (e) => e.state === "completed" && resolve(e.guid)));
  await page.click("#output .files a.download[download='squares.csv']");
  const guid = await completed;
  out.downloadedName = names.get(guid);
  out.downloadedCsv = fs.readFileSync(path.join(downloads, guid), "utf8");
  phase("files");

  // 7. A session: state across two runs, then a reset.
  await page.click("#mode-session");
  await setCode("x = 41\nprint('defined')");
  out.session1 = await run();
  out.sessionInfo = await page.$eval("#session-info", (e) => e.textContent);
  await setCode("x + 1");
  out.session2 = await run();
  await page.click("#reset");
  await page.waitForSelector("#status[data-status='ready']");
  await setCode("x");
  out.afterReset = await run();
  await page.click("#mode-run");
  phase("session");

  // 8. The limits are enforced by the page too: out of range is refused before any request.
  await page.$eval("#timeout", (e) => { e.value = String(Number(e.max) + 1); });
  await page.click("#run");
  out.outOfRange = await page.$eval("#timeout", (e) => ({ valid: e.validity.valid, runs: document.body.dataset.runs }));
  await page.$eval("#timeout", (e) => { e.value = e.min; });

  // 9. What a reader of the README sees: a screenshot, wide and phone-sized.
  await setCode(
    "import numpy as np, pandas as pd\nimport matplotlib.pyplot as plt\n\n" +
      "rng = np.random.default_rng(7)\n" +
      "df = pd.DataFrame(rng.normal(size=(200, 3)).cumsum(axis=0), columns=['a', 'b', 'c'])\n" +
      "print(df.describe().round(2).loc[['mean', 'std']])\n" +
      "display(df.tail(3).round(3))\n" +
      "df.plot(figsize=(6, 3), title='Three random walks')\n" +
      "plt.show()\n");
  await page.$eval("#timeout", (e) => { e.value = "30"; });
  await run();
  await page.waitForFunction(() => {
    const img = document.querySelector("#output img.figure");
    return img && img.complete && img.naturalWidth > 0;
  });
  // The whole page in the viewport (result frames render in processes of their own, and
  // off-screen ones are not painted), then the shot once the page has painted at that size.
  const shoot = async (file, width, height) => {
    await page.setViewport({ width, height });
    const full = await page.evaluate(() => document.documentElement.scrollHeight);
    if (full > height) await page.setViewport({ width, height: full });
    const painted = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    await page.evaluate(painted);
    await page.screenshot({ path: file });
  };
  await shoot(screenshot, 1280, 900);
  await page.setViewport({ width: 390, height: 844 }); // a phone's screen
  out.phone = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    editorWidth: document.getElementById("code").getBoundingClientRect().width,
    runVisible: document.getElementById("run").getBoundingClientRect().width > 0,
  }));
  await shoot(screenshot.replace(/\.png$/, "-phone.png"), 390, 844);
  phase("screenshots");
}

// A server with API keys: the page loads without one (a browser sends none), its runs are
// refused until the key field has the key, which lives in sessionStorage only.
async function keys(page, key) {
  await open(page);
  out.limits = await page.$eval("#timeout", (e) => e.max);
  await paste(page, "print('with a key')");
  out.noKey = await runIn(page);
  out.focused = await page.evaluate(() => document.activeElement.id);
  await page.type("#api-key", "not-the-key");
  out.wrongKey = await runIn(page);
  await page.$eval("#api-key", (e) => { e.value = ""; });
  await page.type("#api-key", key);
  out.withKey = await runIn(page);
  out.stored = await page.evaluate(() => ({
    session: sessionStorage.getItem("pyrunner.playground.key"), local: localStorage.length }));
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("body[data-ready='true']");
  out.restored = await page.$eval("#api-key", (e) => e.value);
  await page.click("#mode-session");
  await paste(page, "y = 5");
  out.session1 = await runIn(page);
  await paste(page, "y * 2");
  out.session2 = await runIn(page);
}

// A server that streams (Accept: application/x-ndjson): what a run prints is on the page while
// the run goes on, in one-off runs and in sessions; Stop ends a one-off run and interrupts a
// session's (the session kept).
async function stream(page) {
  await open(page);
  // Shown while running: the run sleeps for a minute after its print, so only a streamed
  // answer can put the line on the page before the run ends (the wait never depends on it).
  const whileRunning = (text) => page.waitForFunction(
    (t) => document.body.dataset.run === "running" &&
      [...document.querySelectorAll("#output pre.stdout")].some((e) => e.textContent.includes(t)),
    {}, text);
  const long = "import time\nprint('first line', flush=True)\ntime.sleep(60)\nprint('never')\n";
  await paste(page, long);
  const runs = Number(await page.$eval("body", (b) => b.dataset.runs));
  await page.click("#run");
  await whileRunning("first line");
  out.whileRunning = await page.evaluate(() => ({
    status: document.getElementById("status").dataset.status,
    stopEnabled: !document.getElementById("stop").disabled,
  }));
  await page.click("#stop");
  await page.waitForSelector(`body[data-runs='${runs + 1}']`);
  out.stopped = await shown(page);

  // A timeout, streamed: the line before it, then the result.
  await paste(page, "import time\nprint('partial', flush=True)\ntime.sleep(35)\n");
  await page.$eval("#timeout", (e) => { e.value = "2"; });
  out.timeout = await runIn(page);
  out.timeoutNote = await page.$eval("#output .note.error-note", (e) => e.textContent);
  await page.$eval("#timeout", (e) => { e.value = "30"; });

  // Displays as events: a figure and a value, each once.
  await paste(page, "import matplotlib.pyplot as plt\nprint('plotting')\nplt.plot([1, 3, 2])\nplt.show()\n6 * 7\n");
  out.displays = await runIn(page);
  await page.waitForFunction(() => {
    const img = document.querySelector("#output img.figure");
    return img && img.complete && img.naturalWidth > 0;
  });
  out.figures = await page.$$eval("#output img.figure", (imgs) => imgs.length);

  // A session: streamed too; Stop interrupts its run (a KeyboardInterrupt), the session and
  // its variables stay for the next run.
  await page.click("#mode-session");
  await paste(page, "z = 1\nprint('session', z)");
  out.session1 = await runIn(page);
  out.sessionInfoBefore = await page.$eval("#session-info", (e) => e.textContent);
  await paste(page, "z = 2\n" + long);
  const before = Number(await page.$eval("body", (b) => b.dataset.runs));
  await page.click("#run");
  await whileRunning("first line");
  await page.click("#stop");
  await page.waitForSelector(`body[data-runs='${before + 1}']`);
  out.sessionStopped = await shown(page);
  out.sessionInfo = await page.$eval("#session-info", (e) => e.textContent);
  await paste(page, "print('again', z)");
  out.session2 = await runIn(page);
}

try {
  const page = await browser.newPage();
  page.setDefaultTimeout(120000); // a loaded machine; every wait below ends on a DOM state
  out.pageErrors = [];
  out.consoleErrors = [];
  page.on("pageerror", (e) => out.pageErrors.push(String(e.message || e)));
  // The page's own errors, apart from those of the result frames (about:srcdoc), where the
  // policy and the sandbox refuse what results' HTML tries (inline styles, scripts).
  out.frameMessages = [];
  page.on("console", (m) => {
    const where = m.location()?.url ?? "";
    if (where.startsWith("about:srcdoc")) out.frameMessages.push(m.text());
    else if (m.type() === "error") out.consoleErrors.push(where + ": " + m.text());
  });
  const cdp = await browser.target().createCDPSession();
  await cdp.send("Browser.setDownloadBehavior", { behavior: "allowAndName", downloadPath: downloads, eventsEnabled: true });
  cdp.on("Browser.downloadWillBegin", (e) => names.set(e.guid, e.suggestedFilename));

  if (scenario === "main") await main(page, arg, cdp);
  else if (scenario === "keys") await keys(page, arg);
  else if (scenario === "stream") await stream(page);
  else throw new Error("unknown scenario " + scenario);
} finally {
  await browser.close();
  fs.rmSync(downloads, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out) + "\n");
