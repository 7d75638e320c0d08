// An independent MCP client: the TypeScript SDK drives memstack-mcp through the same round trip
// as the Python tests. Usage:
//   node roundtrip.mjs http URL [BEARER_KEY]
//   node roundtrip.mjs stdio COMMAND [ARGS...]
// Prints one JSON line {"ok": true, "steps": [...]} and exits 0, or prints the failure and exits 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [mode, target, ...rest] = process.argv.slice(2);
const steps = [];

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  steps.push(what);
}

async function call(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  return res;
}

async function ok(client, name, args = {}) {
  const res = await call(client, name, args);
  if (res.isError) throw new Error(`${name} failed: ${JSON.stringify(res.content)}`);
  // structured content, and the same JSON as text for clients that ignore it
  const parsed = JSON.parse(res.content[0].text);
  check(JSON.stringify(parsed) === JSON.stringify(res.structuredContent), `${name} text == structured`);
  return res.structuredContent;
}

async function err(client, name, args) {
  const res = await call(client, name, args);
  check(res.isError === true, `${name} is a tool error`);
  return res.content.map((c) => c.text).join(" ");
}

async function main() {
  let transport;
  if (mode === "http") {
    const headers = rest[0] ? { Authorization: `Bearer ${rest[0]}` } : {};
    transport = new StreamableHTTPClientTransport(new URL(target), { requestInit: { headers } });
  } else if (mode === "stdio") {
    transport = new StdioClientTransport({ command: target, args: rest, env: process.env, stderr: "inherit" });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const client = new Client({ name: "memstack-mcp-node-test", version: "1.0.0" });
  await client.connect(transport);
  const tools = (await client.listTools()).tools;
  const names = tools.map((t) => t.name).sort();
  check(JSON.stringify(names) === JSON.stringify([
    "add_memory", "delete_all_memories", "delete_memory", "get_memory", "list_memories",
    "memory_history", "search_memories", "update_memory"]), "eight tools listed");
  check(tools.every((t) => t.inputSchema.type === "object" && t.description.length > 40), "schemas and descriptions");

  const added = await ok(client, "add_memory", { text: "Node says: prefers dark mode", metadata: { topic: "ui" } });
  check(added.events.length === 1 && added.events[0].event === "ADD", "add ADD");
  const id = added.events[0].id;
  await ok(client, "add_memory", { text: "Node says: speaks Portuguese" });
  const found = await ok(client, "search_memories", { query: "dark mode", limit: 1 });
  check(found.results[0].id === id && typeof found.results[0].score === "number", "search finds it");
  const upd = await ok(client, "update_memory", { memory_id: id, text: "Node says: prefers light mode" });
  check(upd.event === "UPDATE" && upd.previous_text === "Node says: prefers dark mode", "update");
  const hist = await ok(client, "memory_history", { memory_id: id });
  check(hist.history.map((h) => h.event).join(",") === "ADD,UPDATE", "history");
  const del = await ok(client, "delete_memory", { memory_id: id });
  check(del.event === "DELETE", "delete");
  check((await err(client, "get_memory", { memory_id: id })).includes("no memory with id"), "deleted is gone");
  check((await err(client, "delete_all_memories", { confirm: false })).includes("confirm must be true"), "confirm required");
  const all = await ok(client, "delete_all_memories", { confirm: true });
  check(all.deleted === 1, "delete_all");
  check((await ok(client, "list_memories", {})).memories.length === 0, "empty after delete_all");
  check((await err(client, "search_memories", { query: "x", limit: 0 })).includes("limit"), "bad argument");
  check((await err(client, "search_memories", { query: "x", filters: { user_id: "bob" } })).includes("scope fields"), "scope filter refused");
  await client.close();
  console.log(JSON.stringify({ ok: true, steps }));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(JSON.stringify({ ok: false, error: String(e && e.stack ? e.stack : e), steps }));
    process.exit(1);
  },
);
