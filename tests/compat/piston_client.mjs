// Drives `pyrunner serve` with the real piston-client package, unchanged:
//   node tests/compat/piston_client.mjs http://127.0.0.1:PORT
// prints one JSON object with what the client got back, for tests/compat/piston_test.cc.
import piston from "piston-client";

const client = piston({ server: process.argv[2] });
const out = {};
out.runtimes = await client.runtimes();
out.hello = await client.execute("python", 'print("Hello World!")');
out.args = await client.execute("python", "import sys\nprint(sys.argv[1:])");
out.stdin = await client.execute("python", "print(input()[::-1])", { stdin: "olleh" });
out.files = await client.execute({
  language: "python",
  files: [
    { name: "main.py", content: "import helper\nprint(helper.twice(21))" },
    { name: "helper.py", content: "def twice(x):\n    return 2 * x\n" },
  ],
  args: [],
});
out.error = await client.execute("python", "1/0");
out.timeout = await client.execute("python", "while True: pass", { runTimeout: 1000 });
out.unknown = await client.execute("brainfuck", "+++.");
console.log(JSON.stringify(out));
