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

/** Namespaces with their leaf fields and their properties (not objects or tags: the
 * browser and the editor's suggestions need only these, and the query stays small). */
function namespaceQuery() {
  const qf = queryField("metadefNamespaces");
  if (qf.args.some((a) => a.type.kind === "NON_NULL" && a.name !== "first")) return null;
  const listType = namedType(qf.type).name;
  const nodes = getType(listType)?.fields?.find((f) => f.name === "nodes");
  const nsType = nodes ? namedType(nodes.type).name : listType;
  const props = getType(nsType)?.fields?.find((f) => f.name === "properties");
  const leaves = selectionFor(nsType, 0).slice(0, -1);
  const withProps = props ? `${leaves} properties ${selectionFor(namedType(props.type).name, 0)} }` : `${leaves}}`;
  const first = qf.args.some((a) => a.name === "first") ? "(first: 100)" : "";
  return `query Metadefs { metadefNamespaces${first} ${nodes ? `{ nodes ${withProps} }` : withProps} }`;
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
