// Drives pyrunner with the official MCP TypeScript SDK's client, unchanged:
//   node client.mjs stdio PYRUNNER [--config FILE]   (starts `PYRUNNER mcp` itself)
//   node client.mjs http http://127.0.0.1:PORT/mcp
// and prints one JSON object with what the client got back, for tests/mcp/sdk_test.cc, which
// makes the assertions. "timing" is measured, never asserted (make bench's territory).
import { existsSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, ...rest] = process.argv.slice(2);
const transport =
  mode === "stdio"
    ? new StdioClientTransport({ command: target, args: ["mcp", ...rest], stderr: "inherit" })
    : new StreamableHTTPClientTransport(new URL(target));
const client = new Client({ name: "pyrunner-sdk-test", version: "1.0.0" });
const out = {};
// A call may wait for the sandbox to warm up (the zygote imports the preload modules) on a
// loaded machine: more than the SDK's default 60 s is allowed; pyrunner's own limits bound it.
const options = { timeout: 300000 };
const call = (name, args) => client.callTool({ name, arguments: args }, undefined, options);
const texts = (result) =>
  result.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
// Whether the code of some session wrote /tmp/`marker` (its own /tmp: list_files does not show
// it): its run has reached that point. The test runs in a throwaway PID namespace as root,
// which sees the sessions' processes.
const reached = (marker) =>
  readdirSync("/proc").some((pid) => /^\d+$/.test(pid) && existsSync(`/proc/${pid}/root/tmp/${marker}`));

await client.connect(transport);
out.server = client.getServerVersion();
out.capabilities = client.getServerCapabilities();
out.instructions = client.getInstructions();
out.protocolVersion = transport.protocolVersion ?? null;
out.sessionId = transport.sessionId ?? null;
out.ping = await client.ping();
out.tools = (await client.listTools(undefined, options)).tools.map((t) => ({
  name: t.name,
  description: t.description,
  required: t.inputSchema.required ?? [],
  hasOutputSchema: Boolean(t.outputSchema),
}));

out.define = await call("run_python", { code: "import numpy as np\nx = np.arange(7) * 6" });
const state = await call("run_python", { code: "print(x[-1])" });
out.state = { text: texts(state), isError: state.isError ?? false, structured: state.structuredContent };

// A call the client cancels (the SDK sends notifications/cancelled when its signal aborts),
// once its code is running: the code gets a KeyboardInterrupt, the session keeps its state
// (and what the code did before), the call gets no answer.
const marker = `cancel-${process.pid}`;
const controller = new AbortController();
const cancelled = client.callTool(
  { name: "run_python", arguments: { code: `x = x * 2\nopen('/tmp/${marker}', 'w').close()\nwhile True: pass` } },
  undefined,
  { ...options, signal: controller.signal },
);
const deadline = Date.now() + 120000;
while (!reached(marker) && Date.now() < deadline) await sleep(20);
out.cancel = { reached: reached(marker) };
controller.abort("the user pressed Stop");
try {
  await cancelled;
  out.cancel.outcome = "answered";
} catch (e) {
  out.cancel.outcome = e.message;
}
const afterCancel = await call("run_python", { code: "print(x[-1])" });
out.afterCancel = { text: texts(afterCancel), isError: afterCancel.isError ?? false };

const figure = await call("run_python", {
  code: "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.title('squares')",
});
out.figure = {
  isError: figure.isError ?? false,
  images: figure.content
    .filter((c) => c.type === "image")
    .map((c) => ({ mimeType: c.mimeType, magic: Buffer.from(c.data, "base64").subarray(1, 4).toString() })),
};

const error = await call("run_python", { code: "{}['missing']" });
out.error = { isError: error.isError ?? false, text: texts(error), status: error.structuredContent?.status };

const badArgs = await call("run_python", { code: 42 });
out.badArgs = { isError: badArgs.isError ?? false, text: texts(badArgs) };

try {
  await call("format_disk", {});
  out.unknownTool = "no error";
} catch (e) {
  out.unknownTool = { code: e.code, message: e.message };
}

await call("run_python", { code: "open('report.txt', 'w').write('all good')" });
out.files = (await call("list_files", {})).structuredContent;
out.readFile = (await call("read_file", { path: "report.txt" })).content;

// Round trips of a trivial run, after the warm-up above.
const times = [];
for (let i = 0; i < 20; i++) {
  const start = performance.now();
  await call("run_python", { code: "1 + 1" });
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
out.timing = { calls: times.length, median_ms: times[10], p90_ms: times[18] };

if (mode === "http") {
  await transport.terminateSession();
  out.terminated = transport.sessionId ?? null;
}
await client.close();
console.log(JSON.stringify(out));
