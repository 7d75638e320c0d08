// Load hook for node20-compat.mjs: rewrites the conformance bundle's `globSync` import.
const STUB = "\nfunction __memstackNoGlobSync(){throw new Error('fs.globSync needs Node >= 22 (conformance tier-check only)')}\n";

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.includes("/@modelcontextprotocol/conformance/dist/") || result.format !== "module") {
    return result;
  }
  const source = String(result.source);
  const match = source.match(/globSync as ([A-Za-z_$][\w$]*),/);
  if (!match) return result;
  const patched = source.replace(match[0], "") + STUB.replace("__memstackNoGlobSync", match[1]);
  return { ...result, source: patched, shortCircuit: true };
}
