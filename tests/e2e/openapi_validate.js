// openapi_validate.js — checks real okrd answers against docs/openapi.yaml.
//
// Usage: node openapi_validate.js BUNDLE.json   (NODE_PATH = the e2e node_modules)
// BUNDLE.json is docs/openapi.yaml as `redocly bundle` writes it (JSON, with its
// internal $refs kept). Every schema is compiled with ajv 8's JSON Schema
// 2020-12 dialect (OpenAPI 3.1's) in strict mode, so a typo in the document's
// schemas fails here at start-up ("ready" is never printed, exit 2).
//
// Then one JSON object a line on stdin:
//   {"method", "path" (no query), "status", "headers" {lower-case name: value},
//    "body" (the text, or null when not sent)}
// and one line back on stdout: {"ok": true} or {"ok": false, "error": "..."}.
// An answer matches when its path and method are documented, its status is
// one the operation lists, its Content-Type is the documented media type,
// every required header is there (and matches its schema), and a JSON body
// validates against the schema of that status. What any request may get
// without its operation listing it: 404 for an undocumented path, 405 (with
// Allow) for an undocumented method, 421 and 503 — each with an Error body.
// HEAD is checked as GET without a body.
'use strict';

const fs = require('fs');
const readline = require('readline');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

const ROOT_ID = 'urn:okrd:openapi';
const ANY_REQUEST = ['421', '503'];

function die(msg) {
  process.stderr.write(`openapi_validate: ${msg}\n`);
  process.exit(2);
}

// "#/components/schemas/X" -> ROOT_ID + "#/$defs/X", everywhere in a schema.
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/'))
        out[k] = `${ROOT_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
      else out[k] = rewriteRefs(v);
    }
    return out;
  }
  return node;
}

function load(file) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die(`cannot read ${file}: ${e.message}`);
  }
  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.1'))
    die(`${file} is not an OpenAPI 3.1 document (openapi: ${JSON.stringify(doc.openapi)})`);
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI 3.1's own keywords in a Schema Object (annotations for ajv).
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
  const schemas = (doc.components && doc.components.schemas) || {};
  try {
    ajv.addSchema({ $id: ROOT_ID, $defs: rewriteRefs(schemas) });
    for (const name of Object.keys(schemas)) ajv.getSchema(`${ROOT_ID}#/$defs/${name}`);
  } catch (e) {
    die(`components.schemas do not compile: ${e.message}`);
  }
  return { doc, ajv, compiled: new Map() };
}

function deref(doc, obj) {
  for (let i = 0; obj && obj.$ref && i < 8; i++) {
    if (!obj.$ref.startsWith('#/')) throw new Error(`external $ref ${obj.$ref}`);
    obj = obj.$ref.slice(2).split('/').reduce(
      (o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
  }
  if (!obj) throw new Error('a $ref points nowhere');
  return obj;
}

function compile(v, key, schema) {
  if (!v.compiled.has(key)) v.compiled.set(key, v.ajv.compile(rewriteRefs(schema)));
  return v.compiled.get(key);
}

function ajvErrors(fn) {
  return fn.errors.map((e) => `${e.instancePath || '(the body)'} ${e.message}` +
    (e.params && e.params.additionalProperty ? `: ${JSON.stringify(e.params.additionalProperty)}` :
     e.params && e.params.allowedValues ? `: ${JSON.stringify(e.params.allowedValues)}` : ''))
    .join('; ');
}

// The documented path template PATH matches, with its parameters checked
// against their schemas: [template, pathItem] or null.
function findPath(v, path) {
  const paths = v.doc.paths || {};
  if (paths[path]) return [path, paths[path]];
  for (const [tpl, item] of Object.entries(paths)) {
    if (!tpl.includes('{')) continue;
    const names = [];
    const re = new RegExp('^' + tpl.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replace(/\{([^}]+)\}/g, (_, n) => { names.push(n); return '([^/]+)'; }) + '$');
    const m = re.exec(path);
    if (!m) continue;
    const params = (item.parameters || []).map((p) => deref(v.doc, p));
    let ok = true;
    names.forEach((n, i) => {
      const p = params.find((q) => q.in === 'path' && q.name === n);
      let value = m[i + 1];
      try { value = decodeURIComponent(value); } catch (e) { /* kept as sent */ }
      if (p && p.schema && !compile(v, `param ${tpl} ${n}`, p.schema)(value)) ok = false;
    });
    if (ok) return [tpl, item];
  }
  return null;
}

const ERROR_RESPONSE = {
  description: 'any request',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

function checkResponse(v, where, resp, a) {
  const head = a.method === 'HEAD';
  const headers = a.headers || {};
  for (const [name, h0] of Object.entries(resp.headers || {})) {
    const h = deref(v.doc, h0);
    const got = headers[name.toLowerCase()];
    if (got === undefined) {
      if (h.required) return `the required header ${name} is missing`;
      continue;
    }
    if (h.schema) {
      const fn = compile(v, `${where} header ${name}`, h.schema);
      if (!fn(got)) return `header ${name}: ${JSON.stringify(got)}: ${ajvErrors(fn)}`;
    }
  }
  const content = resp.content || {};
  const type = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (Object.keys(content).length === 0)
    return null;
  if (!content[type])
    return `Content-Type ${JSON.stringify(headers['content-type'] || null)}, documented: ` +
      Object.keys(content).join(', ');
  const media = content[type];
  if (type !== 'application/json' || head || !media.schema)
    return null;
  if (typeof a.body !== 'string') return 'a JSON answer without its body';
  let body;
  try {
    body = JSON.parse(a.body);
  } catch (e) {
    return `the body is not JSON: ${e.message}`;
  }
  const fn = compile(v, where, media.schema);
  return fn(body) ? null : ajvErrors(fn);
}

function check(v, a) {
  const status = String(a.status);
  const method = (a.method || '').toUpperCase();
  const found = findPath(v, a.path);
  if (!found) {
    if (status !== '404' && !ANY_REQUEST.includes(status))
      return `${a.path} is not a documented path (an answer there can only be 404, 421 or 503)`;
    return checkResponse(v, `any ${status}`, ERROR_RESPONSE, a);
  }
  const [tpl, item] = found;
  const op = item[method === 'HEAD' ? 'get' : method.toLowerCase()];
  if (!op) {
    if (status === '405') {
      if (!(a.headers || {}).allow) return 'a 405 without Allow';
      return checkResponse(v, 'any 405', ERROR_RESPONSE, a);
    }
    if (!ANY_REQUEST.includes(status))
      return `${method} ${tpl} is not documented (an answer can only be 405, 421 or 503)`;
    return checkResponse(v, `any ${status}`, ERROR_RESPONSE, a);
  }
  const responses = op.responses || {};
  const r0 = responses[status] || responses[`${status[0]}XX`] || responses.default;
  if (!r0) {
    if (ANY_REQUEST.includes(status)) return checkResponse(v, `any ${status}`, ERROR_RESPONSE, a);
    return `status ${status} is not documented for ${method} ${tpl} (documented: ` +
      `${Object.keys(responses).join(', ')})`;
  }
  return checkResponse(v, `${method === 'HEAD' ? 'GET' : method} ${tpl} ${status}`,
                       deref(v.doc, r0), a);
}

function main() {
  if (process.argv.length !== 3) die('usage: node openapi_validate.js BUNDLE.json');
  const v = load(process.argv[2]);
  process.stdout.write('ready\n');
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    let out;
    try {
      const err = check(v, JSON.parse(line));
      out = err ? { ok: false, error: err } : { ok: true };
    } catch (e) {
      out = { ok: false, error: `validator: ${e.message}` };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  });
}

main();
