// Image list: search, filters, sortable columns and cursor paging. The whole view state
// lives in the hash (#/images?q=...&status=ACTIVE&sort=NAME:ASC&after=...) so it bookmarks.

import { describeError, gql } from "../api.js";
import { badge, field, fill, h, humanSize, timeEl } from "../dom.js";

const PAGE_SIZES = [10, 20, 50, 100];
const STATUSES = ["QUEUED", "SAVING", "ACTIVE", "DEACTIVATED", "KILLED", "IMPORTING", "UPLOADING"];
const VISIBILITIES = ["", "PUBLIC", "COMMUNITY", "SHARED", "PRIVATE", "ALL"];
const DISK_FORMATS = ["", "raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ploop", "aki", "ari", "ami"];
const COLUMNS = [
  { key: "name", label: "Name", sort: "NAME" },
  { key: "status", label: "Status", sort: "STATUS" },
  { key: "visibility", label: "Visibility", sort: "VISIBILITY" },
  { key: "diskFormat", label: "Disk format", sort: "DISK_FORMAT" },
  { key: "size", label: "Size", sort: "SIZE" },
  { key: "owner", label: "Owner", sort: "OWNER" },
  { key: "updatedAt", label: "Updated", sort: "UPDATED_AT" },
];
const FILTER_KEYS = ["q", "status", "vis", "disk", "tags", "owner", "pk", "pv"];

const LIST_QUERY = `query ImageList($filter: ImageFilter, $sort: [ImageSort!], $first: Int,
    $after: String, $last: Int, $before: String) {
  images(filter: $filter, sort: $sort, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id name status visibility diskFormat size owner updatedAt protected tags }
  }
}`;

const csv = (v) => (v || "").split(",").map((s) => s.trim()).filter(Boolean);

/** The GraphQL ImageFilter for the hash parameters. */
export function filterFrom(params) {
  const f = {};
  if (params.get("q")) f.name = { contains: params.get("q") };
  if (params.get("status")) f.status = csv(params.get("status"));
  if (params.get("vis")) f.visibility = params.get("vis");
  if (params.get("disk")) f.diskFormat = { eq: params.get("disk") };
  if (params.get("tags")) f.tags = csv(params.get("tags"));
  if (params.get("owner")) f.owner = { eq: params.get("owner") };
  if (params.get("pk")) {
    const pv = params.get("pv");
    f.properties = [pv ? { key: params.get("pk"), eq: pv } : { key: params.get("pk"), contains: "" }];
  }
  return f;
}

function variablesFrom(params) {
  const n = Number(params.get("n")) || 20;
  const [field, direction = "DESC"] = (params.get("sort") || "UPDATED_AT:DESC").split(":");
  const vars = { filter: filterFrom(params), sort: [{ field, direction }] };
  if (params.get("before")) Object.assign(vars, { last: n, before: params.get("before") });
  else Object.assign(vars, { first: n, after: params.get("after") || null });
  return vars;
}

export async function renderList(root, ctx) {
  const params = new URLSearchParams(ctx.params);
  const results = h("div", { class: "results", "aria-live": "polite", "aria-busy": "true" });
  const update = (changes, resetPaging = true) => {
    for (const [k, v] of Object.entries(changes)) {
      if (v === "" || v === null || v === undefined) params.delete(k);
      else params.set(k, v);
    }
    if (resetPaging) ["after", "before"].forEach((k) => params.delete(k));
    history.replaceState(null, "", `#/images${[...params].length ? `?${params}` : ""}`);
    load(results, params, update);
  };
  root.append(
    h("div", { class: "titlebar" }, h("h1", {}, "Images"),
      h("a", { class: "button primary", href: "#/new" }, "Upload an image")),
    filtersForm(params, update),
    results,
  );
  await load(results, params, update);
}

function select(name, options, value, labels = {}) {
  return h("select", { name },
    options.map((o) => h("option", { value: o, selected: o === value }, labels[o] ?? (o || "Any"))));
}

function filtersForm(params, update) {
  const q = h("input", { type: "search", name: "q", value: params.get("q") || "",
    placeholder: "Part of the name" });
  const statusBoxes = STATUSES.map((s) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "status", value: s,
      checked: csv(params.get("status")).includes(s) }), s.toLowerCase()));
  const controls = {
    vis: select("vis", VISIBILITIES, params.get("vis") || "", { "": "Default", ALL: "All I can see" }),
    disk: select("disk", DISK_FORMATS, params.get("disk") || ""),
    tags: h("input", { name: "tags", value: params.get("tags") || "", placeholder: "tag1, tag2" }),
    owner: h("input", { name: "owner", value: params.get("owner") || "", placeholder: "Project id" }),
    pk: h("input", { name: "pk", value: params.get("pk") || "", placeholder: "e.g. os_distro" }),
    pv: h("input", { name: "pv", value: params.get("pv") || "", placeholder: "e.g. debian" }),
  };
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter images" },
    h("div", { class: "search" }, field("Search by name", q)),
    h("fieldset", { class: "statuses" }, h("legend", {}, "Status"), statusBoxes),
    field("Visibility", controls.vis),
    field("Disk format", controls.disk),
    field("Tags (all of)", controls.tags),
    field("Owner", controls.owner),
    field("Property name", controls.pk),
    field("Property value", controls.pv),
    h("div", { class: "filter-actions" },
      h("button", { type: "submit", class: "primary" }, "Apply filters"),
      h("button", { type: "reset" }, "Clear")));
  const read = () => ({
    q: q.value.trim(),
    status: statusBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value).join(","),
    ...Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.value.trim()])),
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    update(read());
  });
  form.addEventListener("reset", () => {
    setTimeout(() => update(Object.fromEntries(FILTER_KEYS.map((k) => [k, ""]))), 0);
    for (const l of statusBoxes) l.firstChild.checked = false;
  });
  let timer;
  q.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => update(read()), 300);
  });
  for (const c of [controls.vis, controls.disk]) c.addEventListener("change", () => update(read()));
  for (const l of statusBoxes) l.firstChild.addEventListener("change", () => update(read()));
  return form;
}

let loadTicket = 0;
async function load(results, params, update) {
  const ticket = ++loadTicket;
  results.setAttribute("aria-busy", "true");
  let data;
  try {
    data = await gql(LIST_QUERY, variablesFrom(params));
  } catch (err) {
    if (ticket !== loadTicket) return;
    const { title, detail } = describeError(err);
    fill(results, h("div", { class: "error", role: "alert" }, h("strong", {}, title), ` ${detail}`));
    results.setAttribute("aria-busy", "false");
    return;
  }
  if (ticket !== loadTicket) return;
  const conn = data.images;
  fill(results,
    h("p", { class: "count" }, `${conn.totalCount ?? conn.nodes.length} image${conn.totalCount === 1 ? "" : "s"} match`),
    conn.nodes.length ? table(conn.nodes, params, update) : h("p", { class: "empty" }, "No images match these filters."),
    pager(conn.pageInfo, params, update));
  results.setAttribute("aria-busy", "false");
}

function sortHeader(col, params, update) {
  const [field, direction] = (params.get("sort") || "UPDATED_AT:DESC").split(":");
  const active = field === col.sort;
  const next = active && direction === "ASC" ? "DESC" : "ASC";
  const ariaSort = active ? (direction === "ASC" ? "ascending" : "descending") : "none";
  const arrow = active ? (direction === "ASC" ? " ▲" : " ▼") : "";
  return h("th", { scope: "col", "aria-sort": ariaSort },
    h("button", { type: "button", class: "sort", onclick: () => update({ sort: `${col.sort}:${next}` }),
      "aria-label": `Sort by ${col.label} ${next === "ASC" ? "ascending" : "descending"}` },
    col.label, h("span", { "aria-hidden": "true" }, arrow)));
}

function cell(col, img) {
  const label = { "data-label": col.label };
  switch (col.key) {
    case "name":
      return h("td", { ...label, class: "name" },
        h("a", { href: `#/image/${encodeURIComponent(img.id)}` }, img.name || "(no name)"),
        img.protected ? h("span", { class: "pill", title: "Protected from deletion" }, "protected") : null,
        img.tags.length ? h("span", { class: "tags-inline" }, img.tags.map((t) => h("span", { class: "tag" }, t))) : null);
    case "status":
      return h("td", label, badge(img.status));
    case "size":
      return h("td", { ...label, class: "num", title: img.size == null ? "" : `${img.size} bytes` }, humanSize(img.size));
    case "updatedAt":
      return h("td", label, timeEl(img.updatedAt));
    case "visibility":
      return h("td", label, String(img.visibility).toLowerCase());
    default:
      return h("td", label, img[col.key] ?? "—");
  }
}

function table(nodes, params, update) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "images" },
      h("caption", { class: "offscreen" }, "Images; column headers sort the list"),
      h("thead", {}, h("tr", {}, COLUMNS.map((c) => sortHeader(c, params, update)))),
      h("tbody", {}, nodes.map((img) => h("tr", {}, COLUMNS.map((c) => cell(c, img)))))));
}

function pager(info, params, update) {
  const paged = params.get("after") || params.get("before");
  const prevOk = info.hasPreviousPage || Boolean(params.get("after"));
  const nextOk = info.hasNextPage || Boolean(params.get("before"));
  const current = params.get("n") || "20";
  const sizes = [...new Set([...PAGE_SIZES, Number(current)])].sort((a, b) => a - b).map(String);
  const size = select("n", sizes, current);
  size.addEventListener("change", () => update({ n: size.value }));
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: !prevOk || !paged,
      onclick: () => update({ before: info.startCursor, after: "" }, false) }, "← Previous"),
    h("button", { type: "button", disabled: !nextOk,
      onclick: () => update({ after: info.endCursor, before: "" }, false) }, "Next →"),
    field("Per page", size));
}
