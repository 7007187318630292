// Create an image and upload its data: metadata form, file picker or drag and drop, a progress
// bar with bytes, rate and time left, cancel, and a checksum check computed in the browser
// with the server's os_hash_algo.

import { describeError, gql } from "../api.js";
import { announce, badge, copyButton, field, fill, h, humanDuration, humanSize } from "../dom.js";
import { MAX_VERIFY_BYTES, algoLabel, digestHex, uploadFile } from "../upload.js";

const DISK = ["raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ploop", "aki", "ari", "ami"];
const CONTAINER = ["bare", "ovf", "ova", "docker", "compressed", "aki", "ari", "ami"];

const CREATE = `mutation Create($input: CreateImageInput!) { createImage(input: $input) { id name links { file } } }`;
const AFTER = `query After($id: ID!) { image(id: $id) { id name status size checksum osHashAlgo osHashValue links { file } } }`;

export async function renderCreate(root, ctx) {
  const existing = ctx.params.get("id");
  let target = null;
  if (existing) {
    try {
      target = (await gql(AFTER, { id: existing })).image;
    } catch {
      target = null;
    }
  }
  const status = h("div", { class: "upload-status", "aria-live": "polite" });
  root.append(
    h("h1", {}, target ? `Upload data for ${target.name || target.id}` : "Upload an image"),
    uploadForm(target, status, ctx), status);
}

function metadataFields() {
  const c = {
    name: h("input", { name: "name", required: true, autocomplete: "off" }),
    diskFormat: h("select", { name: "diskFormat" }, DISK.map((d) => h("option", { value: d, selected: d === "qcow2" }, d))),
    containerFormat: h("select", { name: "containerFormat" }, CONTAINER.map((d) => h("option", { value: d }, d))),
    visibility: h("select", { name: "visibility" }, ["PRIVATE", "SHARED", "COMMUNITY", "PUBLIC"].map((v) =>
      h("option", { value: v }, v.toLowerCase()))),
    minDisk: h("input", { name: "minDisk", type: "number", min: 0, value: "0" }),
    minRam: h("input", { name: "minRam", type: "number", min: 0, value: "0" }),
    tags: h("input", { name: "tags", placeholder: "tag1, tag2", autocomplete: "off" }),
    protected: h("input", { type: "checkbox", name: "protected" }),
  };
  const wraps = [field("Name", c.name), field("Disk format", c.diskFormat), field("Container format", c.containerFormat),
    field("Visibility", c.visibility), field("Minimum disk (GB)", c.minDisk), field("Minimum RAM (MB)", c.minRam),
    field("Tags", c.tags, "Separate with commas"), h("label", { class: "check" }, c.protected, "Protected (cannot be deleted)")];
  const input = () => ({
    name: c.name.value.trim(), diskFormat: c.diskFormat.value, containerFormat: c.containerFormat.value,
    visibility: c.visibility.value, minDisk: Number(c.minDisk.value), minRam: Number(c.minRam.value),
    protected: c.protected.checked, tags: c.tags.value.split(",").map((t) => t.trim()).filter(Boolean),
  });
  return { wraps, input, controls: c };
}

function dropZone(fileInput, onFile) {
  const label = h("span", { class: "drop-text" }, "Drop a file here, or ");
  const chosen = h("span", { class: "chosen" }, "No file chosen");
  const zone = h("div", { class: "dropzone" }, label,
    h("label", { class: "button", for: fileInput.id = "file" }, "choose a file…"), fileInput, h("br"), chosen);
  const show = (file) => fill(chosen, file ? `${file.name} — ${humanSize(file.size)}` : "No file chosen");
  fileInput.addEventListener("change", () => {
    show(fileInput.files[0]);
    onFile(fileInput.files[0]);
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (!file) return;
    const dt = new DataTransfer();
    dt.items.add(file);
    fileInput.files = dt.files;
    show(file);
    onFile(file);
  });
  return zone;
}

function uploadForm(target, status, ctx) {
  const meta = target ? null : metadataFields();
  const fileInput = h("input", { type: "file", name: "file", class: "offscreen-file", required: true });
  const zone = dropZone(fileInput, (file) => {
    if (meta && file && !meta.controls.name.value) meta.controls.name.value = file.name;
    const ext = file?.name.split(".").pop().toLowerCase();
    if (meta && DISK.includes(ext)) meta.controls.diskFormat.value = ext;
  });
  const submit = h("button", { type: "submit", class: "primary" }, target ? "Upload" : "Create and upload");
  const form = h("form", { class: "card upload-form", "aria-label": "New image" },
    meta ? h("fieldset", { class: "grid-form" }, h("legend", {}, "Metadata"), meta.wraps) : null,
    h("fieldset", {}, h("legend", {}, "Image file"), zone), submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = fileInput.files[0];
    if (!file) {
      announce("Choose a file to upload first.", "error");
      return;
    }
    submit.disabled = true;
    try {
      const image = target || (await gql(CREATE, { input: meta.input() })).createImage;
      await runUpload(image, file, status, ctx);
    } catch (err) {
      showError(status, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function showError(box, err) {
  const { title, detail } = describeError(err);
  fill(box, h("div", { class: "error", role: "alert" }, h("strong", {}, title), detail ? ` ${detail}` : ""));
}

async function runUpload(image, file, box, ctx) {
  const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": "Upload progress" });
  const text = h("p", { class: "progress-text" }, "Starting…");
  const cancel = h("button", { type: "button" }, "Cancel upload");
  fill(box, h("section", { class: "card", "aria-labelledby": "up-title" },
    h("h2", { id: "up-title" }, `Uploading ${file.name}`), bar, text, cancel));
  box.scrollIntoView({ block: "nearest" });
  // Hash while uploading with the usual algorithm; the server says afterwards which it used.
  const hashing = digestHex(file, "sha512").catch(() => null);
  const job = uploadFile(image.links.file, file, (p) => {
    bar.value = p.loaded;
    text.textContent = `${humanSize(p.loaded)} of ${humanSize(p.total)} · ${humanSize(p.rate)}/s · ${humanDuration(p.eta)} left`;
  });
  cancel.addEventListener("click", () => job.cancel());
  try {
    await job.promise;
  } catch (err) {
    showError(box, err);
    box.append(h("p", {}, "The image was created but has no data. ",
      h("a", { href: `#/image/${encodeURIComponent(image.id)}` }, "Open it"), " to retry or delete it."));
    return;
  }
  bar.value = file.size;
  text.textContent = `${humanSize(file.size)} sent. Checking…`;
  cancel.remove();
  const after = (await gql(AFTER, { id: image.id })).image;
  const algo = after.osHashAlgo || "sha512";
  const local = algo === "sha512" ? await hashing : await digestHex(file, algo).catch(() => null);
  fill(box, verification(after, file, local, algo));
  announce(`Upload of ${file.name} finished`);
}

function verification(img, file, localHash, algo) {
  const label = algoLabel(algo);
  let verdict;
  if (localHash === null) {
    verdict = h("p", { class: "hint" }, file.size > MAX_VERIFY_BYTES
      ? `The file is too large to hash in the browser; compare the ${label} below with your own.`
      : `This browser cannot compute ${label} here (it needs HTTPS or localhost, and SHA-2).`);
  } else if (localHash === img.osHashValue) {
    verdict = h("p", { class: "ok", role: "status" }, `✓ Verified: the ${label} computed in your browser matches the server's.`);
  } else {
    verdict = h("p", { class: "error", role: "alert" }, `✗ Mismatch: the server's ${label} differs from the file's. Do not use this image.`);
  }
  return h("section", { class: "card", "aria-labelledby": "done-title" },
    h("h2", { id: "done-title" }, "Upload complete ", badge(img.status)), verdict,
    h("dl", { class: "facts" },
      h("dt", {}, "Size"), h("dd", {}, `${humanSize(img.size)} (${img.size} bytes)`),
      h("dt", {}, "MD5 (server)"), h("dd", { class: "hash" }, h("code", {}, img.checksum || "—"), " ", img.checksum ? copyButton(img.checksum, "MD5") : null),
      h("dt", {}, `${label} (server)`), h("dd", { class: "hash" }, h("code", { class: "hash-value", id: "server-hash" }, img.osHashValue || "—")),
      h("dt", {}, `${label} (browser)`), h("dd", { class: "hash" }, h("code", { class: "hash-value", id: "local-hash" }, localHash || "—"))),
    h("a", { class: "button primary", href: `#/image/${encodeURIComponent(img.id)}` }, "Open the image"));
}
