// Metadata definitions browser (shown only when the server has metadefNamespaces). Their
// properties also feed the suggestions of the custom property editor.

import { describeError, gql } from "../api.js";
import { fill, h } from "../dom.js";
import { getType, hasQuery, namedType, queryField, selectionFor } from "../schema.js";

let cache = null;

/** Namespaces as plain objects, whatever the list shape (list, connection with nodes/edges). */
function itemsOf(value) {
  if (Array.isArray(value)) return value;
  if (value?.nodes) return value.nodes;
  if (value?.edges) return value.edges.map((e) => e.node);
  return [];
}

function namespaceQuery() {
  const qf = queryField("metadefNamespaces");
  const required = qf.args.filter((a) => a.type.kind === "NON_NULL");
  if (required.length) return null;
  const nt = namedType(qf.type).name;
  // Connections nest one level deeper (nodes -> namespace -> properties).
  const depth = getType(nt)?.fields?.some((f) => f.name === "nodes" || f.name === "edges") ? 4 : 3;
  return `query Metadefs { metadefNamespaces ${selectionFor(nt, depth)} }`;
}

/** Load namespaces once; failures leave suggestions empty (the editor still works). */
export async function loadMetadefs() {
  if (cache || !hasQuery("metadefNamespaces")) return cache || [];
  try {
    const query = namespaceQuery();
    cache = query ? itemsOf((await gql(query)).metadefNamespaces) : [];
  } catch {
    cache = [];
  }
  return cache;
}

const nameOf = (o) => o.name || o.namespace || o.key || o.id || "";

/** [{name, title, type, description, values}] from every namespace's properties. */
export function propertySuggestions() {
  const out = [];
  for (const ns of cache || []) {
    for (const p of itemsOf(ns.properties)) {
      const values = p.enum || p.enumValues || p.values || p.allowedValues || [];
      out.push({ name: nameOf(p), title: p.title || "", type: p.type || "", description: p.description || "",
        values: Array.isArray(values) ? values.map(String) : [] });
    }
  }
  return out.filter((p) => p.name);
}

function propertyTable(props) {
  if (!props.length) return h("p", { class: "empty" }, "No properties.");
  return h("table", {}, h("thead", {}, h("tr", {}, ["Property", "Type", "Allowed values", "Description"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, props.map((p) => h("tr", {}, h("th", { scope: "row" }, h("code", {}, nameOf(p))), h("td", {}, p.type || "—"),
      h("td", {}, (p.enum || p.enumValues || []).join(", ") || "—"), h("td", {}, p.description || p.title || "")))));
}

export async function renderMetadefs(root) {
  root.append(h("h1", {}, "Metadata definitions"));
  if (!hasQuery("metadefNamespaces")) {
    root.append(h("p", {}, "This server has no metadata definitions."));
    return;
  }
  const box = h("div", {});
  root.append(box);
  cache = null;
  try {
    const query = namespaceQuery();
    cache = query ? itemsOf((await gql(query)).metadefNamespaces) : [];
  } catch (err) {
    const { title, detail } = describeError(err);
    fill(box, h("div", { class: "error", role: "alert" }, h("strong", {}, title), ` ${detail}`));
    return;
  }
  fill(box, cache.length ? cache.map((ns) => h("details", { class: "card ns" },
    h("summary", {}, h("strong", {}, ns.displayName || nameOf(ns)), ns.description ? ` — ${ns.description}` : ""),
    propertyTable(itemsOf(ns.properties)))) : h("p", { class: "empty" }, "No namespaces."));
}
