// Lets @modelcontextprotocol/conformance 0.1.16 start on Node 20 (Debian's): its bundle imports
// fs.globSync (Node >= 22) for the `tier-check` command only. On Node 20 a load hook swaps that
// import for a stub that throws if tier-check is ever used; the server scenarios never call it.
// On Node >= 22 this file does nothing. Use: node --import ./node20-compat.mjs <conformance bin>
import { register } from "node:module";
import fs from "node:fs";

if (typeof fs.globSync !== "function") {
  register("./node20-compat-hooks.mjs", import.meta.url);
}
