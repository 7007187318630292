// Small DOM and formatting helpers. Everything user-provided goes through textContent
// (never innerHTML), so names, tags and properties cannot inject markup.

/** Create an element: h("button", {class: "x", onclick: fn}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the content of an element. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: returns the wrapper; the control is wrapper.control. */
export function field(label, control, hint) {
  control.id ||= nextId();
  const hintEl = hint ? h("small", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  const wrap = h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
  wrap.control = control;
  return wrap;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
/** 1536 -> "1.5 KiB"; null -> "—". Binary units, as disk tools report them. */
export function humanSize(bytes) {
  if (bytes === null || bytes === undefined || bytes === "") return "—";
  let n = Number(bytes);
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${UNITS[i]}`;
}

/** Seconds -> "1 min 5 s". */
export function humanDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** ISO time -> local "2026-11-29 08:10:03" plus the full value as a tooltip. */
export function timeEl(iso) {
  if (!iso) return h("span", {}, "—");
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(
    d.getHours(),
  )}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return h("time", { datetime: iso, title: iso }, text);
}

/** A status badge; the class carries the colour, the text carries the meaning. */
export function badge(status) {
  const s = String(status || "unknown").toLowerCase();
  return h("span", { class: `badge badge-${s}` }, s.replace("_", " "));
}

/** Announce a short message to everyone (visible toast + polite live region). */
export function announce(message, kind = "info") {
  const region = document.getElementById("toast");
  if (!region) return;
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    message);
  region.append(item);
  while (region.children.length > 3) region.firstElementChild.remove();
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/** A "Copy" button that copies text (falls back to selecting it when the API is absent). */
export function copyButton(text, what) {
  const btn = h("button", { type: "button", class: "small", "aria-label": `Copy ${what}` }, "Copy");
  btn.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      btn.textContent = "Copied";
    } catch {
      const area = h("textarea", { class: "offscreen", "aria-hidden": "true" }, text);
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      btn.textContent = "Copied";
    }
    announce(`${what} copied`);
    setTimeout(() => (btn.textContent = "Copy"), 1500);
  });
  return btn;
}

/** Ask for confirmation in a modal <dialog>; resolves true when confirmed. */
export function confirmDialog(title, body, confirmLabel = "Confirm", danger = false) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "submit", value: "ok", class: danger ? "danger" : "primary" },
      confirmLabel);
    const dlg = h("dialog", { "aria-labelledby": "dlg-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "dlg-title" }, title),
        h("p", {}, body),
        h("div", { class: "actions" },
          h("button", { type: "submit", value: "cancel" }, "Cancel"), ok)));
    document.body.append(dlg);
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "ok");
      dlg.remove();
    });
    dlg.showModal();
    ok.focus();
  });
}
