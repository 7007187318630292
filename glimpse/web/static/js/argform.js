// Forms generated from a mutation's arguments (read from the schema). Used for features whose
// exact shape other parts of the service define: login, copy, resize. Input-object arguments
// are flattened into one control per input field; lists are typed comma-separated.

import { field, h } from "./dom.js";
import { enumValues, getType, namedType, resultSelection, typeString } from "./schema.js";

const NUMERIC = new Set(["Int", "Float"]);

/** One spec per value to collect: {arg, name, ref, inside (the input-object arg or null)}. */
export function argSpecs(mutation) {
  const specs = [];
  for (const arg of mutation.args) {
    const nt = namedType(arg.type);
    if (nt.kind === "INPUT_OBJECT") {
      for (const f of getType(nt.name)?.inputFields || []) {
        specs.push({ name: f.name, ref: f.type, inside: arg.name, description: f.description });
      }
    } else {
      specs.push({ name: arg.name, ref: arg.type, inside: null, description: arg.description });
    }
  }
  return specs;
}

const isList = (ref) => (ref.kind === "NON_NULL" ? isList(ref.ofType) : ref.kind === "LIST");

/** "minDisk" -> "Min disk". */
export function humanize(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A labelled control for a spec; enums become selects, secrets password fields. The
 * schema's own description of the argument is the hint. */
export function control(spec, label = humanize(spec.name), attrs = {}) {
  const nt = namedType(spec.ref);
  const required = spec.ref.kind === "NON_NULL";
  let input;
  if (nt.kind === "ENUM") {
    input = h("select", { name: spec.name, required },
      required ? null : h("option", { value: "" }, "—"),
      enumValues(nt.name).map((v) => h("option", { value: v }, v.toLowerCase())));
  } else if (nt.name === "Boolean") {
    input = h("input", { type: "checkbox", name: spec.name });
    return { spec, input, wrap: h("label", { class: "check" }, input, label) };
  } else {
    const secret = /pass/i.test(spec.name);
    input = h("input", { name: spec.name, required, autocomplete: "off",
      type: secret ? "password" : NUMERIC.has(nt.name) || nt.name === "BigInt" ? "number" : "text", ...attrs });
  }
  const list = isList(spec.ref) ? "Separate several values with commas." : "";
  const hint = [spec.description, list].filter(Boolean).join(" ") || null;
  return { spec, input, wrap: field(label, input, hint) };
}

function valueOf({ spec, input }) {
  const nt = namedType(spec.ref);
  if (input.type === "checkbox") return input.checked;
  if (input.value === "") return undefined;
  const one = (v) => (NUMERIC.has(nt.name) ? Number(v) : v);
  return isList(spec.ref) ? input.value.split(",").map((v) => one(v.trim())).filter((v) => v !== "") : one(input.value);
}

/** Variables for the mutation: control values, then ``fixed`` ({name: value}) wherever named. */
export function variables(mutation, controls, fixed = {}) {
  const vars = {};
  const put = (spec, value) => {
    if (value === undefined) return;
    if (spec.inside) (vars[spec.inside] ||= {})[spec.name] = value;
    else vars[spec.name] = value;
  };
  for (const c of controls) put(c.spec, valueOf(c));
  for (const spec of argSpecs(mutation)) if (spec.name in fixed) put(spec, fixed[spec.name]);
  for (const arg of mutation.args) if (namedType(arg.type).kind === "INPUT_OBJECT") vars[arg.name] ||= {};
  return vars;
}

/** The operation text calling ``mutation`` with all its arguments as variables. */
export function operation(mutation, depth = 2) {
  const decl = mutation.args.map((a) => `$${a.name}: ${typeString(a.type)}`).join(", ");
  const call = mutation.args.map((a) => `${a.name}: $${a.name}`).join(", ");
  const head = decl ? `mutation Run(${decl})` : "mutation Run";
  const args = call ? `(${call})` : "";
  return `${head} { ${mutation.name}${args} ${resultSelection(mutation, depth)} }`;
}
