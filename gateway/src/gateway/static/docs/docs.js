// The docs page: lists every operation of /openapi.json with a try-it form.
// No framework and no CDN; everything is built with DOM calls (textContent only), so the
// page works under the gateway's Content-Security-Policy (default-src 'self').

const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function resolveRef(doc, schema) {
  let current = schema;
  for (let depth = 0; current && current.$ref && depth < 20; depth++) {
    current = doc.components.schemas[current.$ref.split("/").pop()];
  }
  return current || {};
}

// A small example value for a JSON schema, to prefill request bodies.
function example(doc, schema, depth = 0) {
  const resolved = resolveRef(doc, schema);
  if (depth > 4) return null;
  const type = Array.isArray(resolved.type) ? resolved.type[0] : resolved.type;
  if (resolved.enum) return resolved.enum[0];
  if (type === "object" || resolved.properties) {
    const out = {};
    for (const [name, prop] of Object.entries(resolved.properties || {})) {
      if (prop.readOnly) continue;
      out[name] = example(doc, prop, depth + 1);
    }
    return out;
  }
  if (type === "array") return [];
  if (type === "integer" || type === "number") return 0;
  if (type === "boolean") return false;
  if (type === "string") return resolved.format === "int64" ? "0" : "";
  return null;
}

function operationForm(doc, path, method, op) {
  const form = el("form");
  const params = op.parameters || [];
  const inputs = [];
  for (const param of params) {
    const input = el("input", { name: param.name, placeholder: param.in });
    inputs.push([param, input]);
    form.append(el("label", {}, `${param.name} (${param.in})`, input));
  }
  const idempotency = el("input", { placeholder: "optional" });
  form.append(el("label", {}, "Idempotency-Key header", idempotency));
  let body = null;
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    body = el("textarea", { spellcheck: "false" });
    body.value = JSON.stringify(example(doc, schema), null, 2);
    form.append(el("label", {}, "JSON body", body));
  }
  const result = el("pre", { class: "result", hidden: "" });
  form.append(el("button", { type: "submit" }, "Send"), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const [param, input] of inputs) {
      if (param.in === "path") {
        const value = param.description ? input.value : encodeURIComponent(input.value);
        url = url.replace(`{${param.name}}`, value);
      } else if (input.value !== "") {
        query.append(param.name, input.value);
      }
    }
    if ([...query].length) url += `?${query}`;
    const headers = {};
    const token = document.getElementById("token").value.trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (idempotency.value.trim()) headers["Idempotency-Key"] = idempotency.value.trim();
    const init = { method: method.toUpperCase(), headers };
    if (body) {
      headers["Content-Type"] = "application/json";
      init.body = body.value;
    }
    result.hidden = false;
    result.textContent = `${init.method} ${url} …`;
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: show as is
      }
      const shown = [...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
      result.textContent = `${response.status} ${response.statusText}\n${shown}\n\n${pretty}`;
    } catch (error) {
      result.textContent = String(error);
    }
  });
  return form;
}

function render(doc) {
  document.getElementById("title").textContent = `${doc.info.title} ${doc.info.version}`;
  document.title = doc.info.title;
  const main = document.getElementById("operations");
  main.replaceChildren();
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "default";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  for (const [tag, operations] of byTag) {
    main.append(el("h2", {}, tag));
    for (const [path, method, op] of operations) {
      const secured = op.security && op.security.length > 0;
      const summary = el(
        "summary",
        {},
        el("span", { class: `method ${method}` }, method),
        el("code", {}, path),
        el("span", { class: "desc" }, op.summary || op.operationId || ""),
      );
      if (secured) summary.append(el("span", { class: "lock" }, "needs token"));
      const details = el("details", {}, summary);
      if (op.description) details.append(el("p", { class: "desc" }, op.description));
      details.append(operationForm(doc, path, method, op));
      main.append(details);
    }
  }
}

fetch("/openapi.json")
  .then((response) => response.json())
  .then(render)
  .catch((error) => {
    document.getElementById("operations").textContent = `Cannot load /openapi.json: ${error}`;
  });
