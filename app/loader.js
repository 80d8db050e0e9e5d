// Loads the page's WebAssembly. Some Android webviews fail instantiateStreaming (or mislabel the
// type), so the module is compiled from an ArrayBuffer when streaming fails.
import init, { start } from "./app.js";

const url = "__WASM__";

async function load() {
  let module;
  try {
    module = await WebAssembly.compileStreaming(fetch(url));
  } catch (_) {
    const r = await fetch(url);
    module = await WebAssembly.compile(await r.arrayBuffer());
  }
  await init({ module_or_path: module });
  start();
}

load().catch((e) => {
  // The server-rendered form keeps working without the app.
  console.warn("掌上评: app not loaded, using the plain form", e);
});
