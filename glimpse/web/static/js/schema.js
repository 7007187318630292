// What this server offers, learned once at start from introspection. Features being built
// elsewhere (login, copy/resize, tasks, metadefs) appear in the console only when the schema
// has them; their arguments and result fields are read from the schema too, so the console
// follows their shape instead of guessing it.

import { gql } from "./api.js";

const TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
const INTROSPECT = `query Capabilities {
  __schema {
    queryType { name }
    mutationType { name }
    types {
      name kind
      fields { name args { name description type { ${TYPE_REF} } } type { ${TYPE_REF} } }
      inputFields { name description type { ${TYPE_REF} } }
      enumValues { name }
    }
  }
}`;

const types = new Map();
let queryName = "Query";
let mutationName = "Mutation";
let loaded = false;

/** Load the schema once; a server with introspection disabled leaves optional features off. */
export async function loadSchema() {
  try {
    const data = await gql(INTROSPECT, {}, { anonymous: true });
    for (const t of data.__schema.types) types.set(t.name, t);
    queryName = data.__schema.queryType?.name || "Query";
    mutationName = data.__schema.mutationType?.name || "Mutation";
    loaded = true;
  } catch {
    loaded = false;
  }
  return loaded;
}

/** The named type (OBJECT, INPUT_OBJECT, ENUM ...) of a wrapped type reference. */
export function namedType(ref) {
  let t = ref;
  while (t && t.ofType) t = t.ofType;
  return t;
}

/** GraphQL spelling of a type reference, e.g. "[String!]!". */
export function typeString(ref) {
  if (!ref) return "";
  if (ref.kind === "NON_NULL") return `${typeString(ref.ofType)}!`;
  if (ref.kind === "LIST") return `[${typeString(ref.ofType)}]`;
  return ref.name;
}

export function getType(name) {
  return types.get(name);
}

function rootField(root, name) {
  return types.get(root)?.fields?.find((f) => f.name === name) || null;
}

export const queryField = (name) => rootField(queryName, name);
export const mutationField = (name) => rootField(mutationName, name);
export const hasQuery = (name) => Boolean(queryField(name));
export const hasMutation = (name) => Boolean(mutationField(name));

/** Does OBJECT type ``typeName`` have field ``field``? */
export function hasField(typeName, field) {
  return Boolean(types.get(typeName)?.fields?.some((f) => f.name === field));
}

const LEAF = new Set(["SCALAR", "ENUM"]);

/**
 * A selection set of ``typeName``: its leaf fields without required arguments, and object
 * fields down to ``depth`` levels (with __typename so results can be recognised).
 */
export function selectionFor(typeName, depth = 1) {
  const t = types.get(typeName);
  if (!t) return "";
  if (t.kind === "UNION" || t.kind === "INTERFACE") return "{ __typename }";
  const parts = ["__typename"];
  for (const f of t.fields || []) {
    if (f.name.startsWith("_") || f.args.some((a) => a.type.kind === "NON_NULL")) continue;
    const nt = namedType(f.type);
    if (LEAF.has(nt.kind)) parts.push(f.name);
    else if (depth > 0 && nt.kind === "OBJECT") {
      const inner = selectionFor(nt.name, depth - 1);
      if (inner) parts.push(`${f.name} ${inner}`);
    }
  }
  return `{ ${parts.join(" ")} }`;
}

/** Selection for a field's result: empty for leaves, else the generic selection. */
export function resultSelection(field, depth = 1) {
  const nt = namedType(field.type);
  return LEAF.has(nt.kind) ? "" : selectionFor(nt.name, depth);
}

/** Enum values of a type, or []. */
export function enumValues(typeName) {
  return (types.get(typeName)?.enumValues || []).map((v) => v.name);
}
