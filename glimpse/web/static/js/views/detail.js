// Image detail: every field, checksums, editors, history and the actions.

import { describeError, gql, session } from "../api.js";
import { announce, badge, confirmDialog, copyButton, field, fill, h, humanSize, timeEl } from "../dom.js";
import { argSpecs, control, operation, variables } from "../argform.js";
import { getType, hasMutation, mutationField, namedType, selectionFor } from "../schema.js";
import { findTask, followTask, taskView } from "../tasks.js";
import { act, eventTimeline, membersEditor, propertiesEditor, section, tagsEditor } from "./editors.js";
import { loadMetadefs } from "./metadefs.js";
import { algoLabel } from "../upload.js";

/** Image.tasks when the schema has it (plain list or connection), with its leaf fields. */
function tasksSelection() {
  const f = getType("Image")?.fields?.find((x) => x.name === "tasks");
  if (!f || f.args.some((a) => a.type.kind === "NON_NULL")) return "";
  const nt = namedType(f.type).name;
  const conn = getType(nt)?.fields?.find((x) => x.name === "nodes");
  return conn ? `tasks { nodes ${selectionFor(namedType(conn.type).name, 0)} }` : `tasks ${selectionFor(nt, 0)}`;
}

function detailQuery() {
  const tasks = tasksSelection();
  return `query ImageDetail($id: ID!) { image(id: $id) {
    id name status visibility isPublic protected osHidden owner minDisk minRam diskFormat
    containerFormat size virtualSize checksum osHashAlgo osHashValue createdAt updatedAt
    tags properties { key value } stores
    members { memberId status createdAt updatedAt }
    events(first: 100) { id at action userId projectId changes }
    links { file } ${tasks} } }`;
}

export async function renderDetail(root, ctx) {
  const id = ctx.path[1];
  await loadMetadefs();
  const reload = async (focusKey) => {
    const body = await build(id, { ...ctx, reload });
    fill(root, body);
    const target = focusKey && root.querySelector(`[data-focus="${focusKey}"]`);
    if (target) target.focus();
  };
  root.append(await build(id, { ...ctx, reload }));
}

async function build(id, ctx) {
  let img;
  try {
    img = (await gql(detailQuery(), { id })).image;
  } catch (err) {
    const { title, detail } = describeError(err);
    return h("div", {}, h("h1", {}, "Image"), h("div", { class: "error", role: "alert" }, h("strong", {}, title), ` ${detail}`));
  }
  if (!img) {
    return h("div", {}, h("h1", {}, "Image not found"),
      h("p", {}, "It does not exist, was deleted, or is not visible to you. "),
      h("a", { href: "#/images" }, "Back to the image list"));
  }
  const taskBox = h("div", { class: "task-box", "aria-live": "polite" });
  return h("div", { class: "detail" },
    h("p", { class: "crumbs" }, h("a", { href: "#/images" }, "Images"), " / "),
    h("div", { class: "titlebar" }, h("h1", {}, img.name || "(no name)"), badge(img.status)),
    actionsBar(img, ctx, taskBox), taskBox,
    h("div", { class: "detail-grid" },
      h("div", {}, facts(img), checksums(img), detailsForm(img, ctx), tasksSection(img)),
      h("div", {}, propertiesEditor(img, ctx), tagsEditor(img, ctx), membersEditor(img, ctx), eventTimeline(img))));
}

const yesNo = (v) => (v ? "yes" : "no");

function facts(img) {
  const rows = [
    ["ID", h("span", {}, h("code", {}, img.id), " ", copyButton(img.id, "image id"))],
    ["Status", badge(img.status)],
    ["Visibility", img.visibility.toLowerCase()],
    ["Public", yesNo(img.isPublic)],
    ["Protected", yesNo(img.protected)],
    ["Hidden from lists", yesNo(img.osHidden)],
    ["Owner", img.owner || "—"],
    ["Disk format", img.diskFormat || "—"],
    ["Container format", img.containerFormat || "—"],
    ["Size", img.size == null ? "—" : `${humanSize(img.size)} (${Number(img.size).toLocaleString("en")} bytes)`],
    ["Virtual size", img.virtualSize == null ? "—" : `${humanSize(img.virtualSize)} (${Number(img.virtualSize).toLocaleString("en")} bytes)`],
    ["Minimum disk", `${img.minDisk} GB`],
    ["Minimum RAM", `${img.minRam} MB`],
    ["Stores", img.stores.join(", ") || "—"],
    ["Created", timeEl(img.createdAt)],
    ["Updated", timeEl(img.updatedAt)],
  ];
  return section("Overview", "facts-title",
    h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

function checksums(img) {
  const row = (label, value) => [h("dt", {}, label), h("dd", { class: "hash" },
    value ? [h("code", { class: "hash-value" }, value), " ", copyButton(value, label)] : "— (no data yet)")];
  return section("Checksums", "sums-title", h("dl", { class: "facts" },
    row("MD5", img.checksum), row(algoLabel(img.osHashAlgo), img.osHashValue)));
}

function detailsForm(img, ctx) {
  const name = h("input", { name: "name", value: img.name || "" });
  const vis = h("select", { name: "visibility" }, ["PRIVATE", "SHARED", "COMMUNITY", "PUBLIC"].map((v) =>
    h("option", { value: v, selected: v === img.visibility }, v.toLowerCase())));
  const minDisk = h("input", { name: "minDisk", type: "number", min: 0, value: String(img.minDisk) });
  const minRam = h("input", { name: "minRam", type: "number", min: 0, value: String(img.minRam) });
  const prot = h("input", { type: "checkbox", name: "protected", checked: img.protected });
  const hidden = h("input", { type: "checkbox", name: "osHidden", checked: img.osHidden });
  const form = h("form", { class: "grid-form" }, field("Name", name), field("Visibility", vis),
    field("Minimum disk (GB)", minDisk), field("Minimum RAM (MB)", minRam),
    h("label", { class: "check" }, prot, "Protected (cannot be deleted)"),
    h("label", { class: "check" }, hidden, "Hidden from default lists"),
    h("button", { type: "submit", class: "primary" }, "Save details"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = { name: name.value, visibility: vis.value, minDisk: Number(minDisk.value),
      minRam: Number(minRam.value), protected: prot.checked, osHidden: hidden.checked };
    const ok = await act(`mutation Update($id: ID!, $input: UpdateImageInput!) {
      updateImage(id: $id, input: $input) { id } }`, { id: img.id, input }, "Details saved");
    if (ok) ctx.reload();
  });
  return section("Details", "details-title", form);
}

function tasksSection(img) {
  if (!img.tasks) return null;
  const tasks = Array.isArray(img.tasks) ? img.tasks : img.tasks.nodes || [];
  return section("Tasks", "tasks-title", tasks.length
    ? h("ul", { class: "plain" }, tasks.map((t) => h("li", {}, taskView(t))))
    : h("p", { class: "empty" }, "No tasks for this image."));
}

function actionsBar(img, ctx, taskBox) {
  const bar = h("div", { class: "actions", role: "group", "aria-label": "Image actions" });
  if (img.status === "ACTIVE" && img.size) bar.append(h("button", { type: "button", onclick: () => download(img) }, "Download"));
  if (img.status === "QUEUED") bar.append(h("a", { class: "button", href: `#/new?id=${encodeURIComponent(img.id)}` }, "Upload data"));
  if (img.status === "ACTIVE") bar.append(simple("Pause", "pauseImage", img, ctx, "Image paused: downloads are refused until it is unpaused"));
  if (img.status === "DEACTIVATED") bar.append(simple("Unpause", "unpauseImage", img, ctx, "Image unpaused"));
  for (const [name, label] of [["copyImage", "Copy…"], ["resizeImage", "Resize…"]]) {
    if (hasMutation(name)) bar.append(h("button", { type: "button", onclick: () => taskAction(name, label, img, ctx, taskBox) }, label));
  }
  bar.append(deleteControl(img, ctx));
  return bar;
}

function simple(label, mutation, img, ctx, done) {
  return h("button", { type: "button", onclick: async () => {
    if (await act(`mutation Act($id: ID!) { ${mutation}(id: $id) { id status } }`, { id: img.id }, done)) ctx.reload();
  } }, label);
}

function deleteControl(img, ctx) {
  if (img.protected) {
    return h("span", { class: "protected-note" },
      h("button", { type: "button", class: "danger", disabled: true, "aria-describedby": "protected-why" }, "Delete"),
      h("small", { id: "protected-why" }, "This image is protected, so it cannot be deleted. Untick “Protected” under Details first."));
  }
  return h("button", { type: "button", class: "danger", onclick: async () => {
    const yes = await confirmDialog("Delete this image?",
      `“${img.name || img.id}” and its data will be deleted. This cannot be undone.`, "Delete image", true);
    if (!yes) return;
    if (await act("mutation Del($id: ID!) { deleteImage(id: $id) { deleted } }", { id: img.id }, "Image deleted")) ctx.go("images");
  } }, "Delete");
}

/** Download through a signed one-minute link so the browser streams the file to disk. */
async function download(img) {
  let url;
  if (hasMutation("createDownloadLink")) {
    try {
      url = (await gql("mutation Link($id: ID!) { createDownloadLink(id: $id) { url } }", { id: img.id })).createDownloadLink.url;
    } catch (err) {
      const { title, detail } = describeError(err);
      announce(`${title} ${detail}`, "error");
      return;
    }
    url = new URL(url, new URL("..", document.baseURI)).href;
  } else {
    url = await blobDownload(img);
    if (!url) return;
  }
  const a = h("a", { href: url, download: img.name || img.id, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  announce("Download started");
}

/** Fallback for servers without signed links: the bytes pass through page memory. */
async function blobDownload(img) {
  const res = await fetch(img.links.file, { headers: { authorization: `Bearer ${session.token}` } });
  if (!res.ok) {
    announce(`Download failed (${res.status}).`, "error");
    return null;
  }
  return URL.createObjectURL(await res.blob());
}

/** Copy/resize: a form built from the mutation's arguments; then follow the task it starts. */
async function taskAction(name, label, img, ctx, taskBox) {
  const mf = mutationField(name);
  const verb = label.replace("…", "");
  const controls = argSpecs(mf).filter((s) => !/^(id|imageId)$/.test(s.name)).map((s) => control(s));
  const dlg = h("dialog", { "aria-labelledby": "task-dlg-title" }, h("form", { method: "dialog" },
    h("h2", { id: "task-dlg-title" }, `${verb} “${img.name || img.id}”`),
    controls.map((c) => c.wrap),
    h("div", { class: "actions" }, h("button", { value: "cancel", formnovalidate: true }, "Cancel"),
      h("button", { value: "ok", class: "primary" }, verb))));
  document.body.append(dlg);
  dlg.showModal();
  const ok = await new Promise((r) => dlg.addEventListener("close", () => r(dlg.returnValue === "ok")));
  dlg.remove();
  if (!ok) return;
  try {
    const data = await gql(operation(mf), variables(mf, controls, { id: img.id, imageId: img.id }));
    const task = findTask(data[name]);
    announce(`${verb} started`);
    if (task) followTask(taskBox, task.id, () => ctx.reload());
    else ctx.reload();
  } catch (err) {
    const { title, detail } = describeError(err);
    announce(`${title} ${detail}`, "error");
  }
}
