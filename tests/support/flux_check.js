// Semantic check of many Flux scripts in one node process (driven by tests/flux_check.py).
//
// stdin:  a JSON array of Flux sources
// stdout: a JSON array, one entry per source: {"valid": bool, "diagnostics": ["LINE:COL: message", ...]}
//
// The verdict is flux-lsp's Flux#is_valid() (the Flux front end's semantic check: types and
// builtin signatures). is_valid() says only yes or no, so for invalid sources the same package's
// language server is asked for its diagnostics, which say why.
// argv[2]: the node_modules folder that holds @influxdata/flux-lsp-node.
'use strict';

const path = require('path');

const modules = process.argv[2];
const { Flux, Lsp } = require(path.resolve(modules, '@influxdata', 'flux-lsp-node'));

const DIAGNOSTICS_TIMEOUT_MS = 5000;

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function isValid(source) {
  const flux = new Flux(source);
  try {
    return flux.is_valid();
  } finally {
    flux.free();
  }
}

// A language server that answers "why" for one source at a time.
function startLanguageServer() {
  const server = new Lsp();
  const waiting = new Map(); // document uri -> resolve
  server.onMessage((raw) => {
    const message = JSON.parse(raw);
    if (message.method !== 'textDocument/publishDiagnostics') return;
    const resolve = waiting.get(message.params.uri);
    if (resolve) {
      waiting.delete(message.params.uri);
      resolve(message.params.diagnostics);
    }
  });
  server.run().catch(() => {});
  let nextId = 1;
  const send = (method, params, isRequest) => {
    const message = isRequest ? { jsonrpc: '2.0', id: nextId++, method, params } : { jsonrpc: '2.0', method, params };
    return server.send(JSON.stringify(message));
  };
  const ready = send('initialize', { capabilities: {} }, true).then(() => send('initialized', {}, false));

  return async function diagnose(source, index) {
    await ready;
    const uri = `file:///query-${index}.flux`;
    const published = new Promise((resolve) => {
      waiting.set(uri, resolve);
      setTimeout(() => { waiting.delete(uri); resolve(null); }, DIAGNOSTICS_TIMEOUT_MS);
    });
    await send('textDocument/didOpen', { textDocument: { uri, languageId: 'flux', version: 1, text: source } }, false);
    const diagnostics = await published;
    if (diagnostics === null) return ['(the language server gave no reason)'];
    return diagnostics.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
  };
}

async function main() {
  const sources = JSON.parse(await readStdin());
  let diagnose = null;
  const results = [];
  for (const [index, source] of sources.entries()) {
    if (isValid(source)) {
      results.push({ valid: true, diagnostics: [] });
      continue;
    }
    diagnose = diagnose || startLanguageServer();
    results.push({ valid: false, diagnostics: await diagnose(source, index) });
  }
  // Exit once written: the language server's run() loop would keep node alive.
  process.stdout.write(JSON.stringify(results), () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`flux_check.js: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
