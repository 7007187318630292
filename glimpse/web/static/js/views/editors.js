// Editors on the image detail page: custom properties, tags, members, the event timeline.
// Each calls one small mutation and then asks the page to reload (``ctx.reload(focusKey)``).

import { describeError, gql, session } from "../api.js";
import { announce, badge, confirmDialog, field, h, timeEl } from "../dom.js";
import { propertySuggestions } from "./metadefs.js";

const IMG_ID = "$id: ID!";

/** Run a mutation, report failure in plain words; resolves true on success. */
export async function act(query, variables, done) {
  try {
    await gql(query, variables);
    if (done) announce(done);
    return true;
  } catch (err) {
    const { title, detail } = describeError(err);
    announce(`${title} ${detail}`, "error");
    return false;
  }
}

export function section(title, id, ...content) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

// ------------------------------------------------------------------ properties

export function propertiesEditor(img, ctx) {
  const rows = img.properties.map((p) => propertyRow(img, p, ctx));
  const key = h("input", { name: "key", required: true, list: "prop-keys", autocomplete: "off",
    dataset: { focus: "prop-key" } });
  const value = h("input", { name: "value", required: true, list: "prop-values", autocomplete: "off" });
  const suggestions = propertySuggestions();
  const keyList = h("datalist", { id: "prop-keys" }, suggestions.map((s) => h("option", { value: s.name }, s.title || "")));
  const valueList = h("datalist", { id: "prop-values" });
  key.addEventListener("input", () => {
    const s = suggestions.find((x) => x.name === key.value);
    valueList.replaceChildren(...(s?.values || []).map((v) => h("option", { value: v })));
    value.placeholder = s?.type ? `${s.type}${s.description ? ` — ${s.description}` : ""}` : "";
  });
  const add = h("form", { class: "inline-form", "aria-label": "Add a property" },
    field("New property name", key), field("Value", value), keyList, valueList,
    h("button", { type: "submit", class: "primary" }, "Add property"));
  add.addEventListener("submit", async (e) => {
    e.preventDefault();
    const ok = await act(`mutation SetProp(${IMG_ID}, $key: String!, $value: String!) {
      setImageProperty(id: $id, key: $key, value: $value) { id } }`,
    { id: img.id, key: key.value.trim(), value: value.value }, `Property ${key.value.trim()} saved`);
    if (ok) ctx.reload("prop-key");
  });
  return section("Custom properties", "props-title",
    rows.length ? h("table", { class: "props" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Value"),
        h("th", { scope: "col" }, h("span", { class: "offscreen" }, "Actions")))),
      h("tbody", {}, rows)) : h("p", { class: "empty" }, "No custom properties."),
    add);
}

function propertyRow(img, p, ctx) {
  const input = h("input", { value: p.value, "aria-label": `Value of ${p.key}` });
  const save = h("button", { type: "button", class: "small" }, "Save");
  save.addEventListener("click", async () => {
    const ok = await act(`mutation SetProp(${IMG_ID}, $key: String!, $value: String!) {
      setImageProperty(id: $id, key: $key, value: $value) { id } }`,
    { id: img.id, key: p.key, value: input.value }, `Property ${p.key} saved`);
    if (ok) ctx.reload();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") save.click();
  });
  const remove = h("button", { type: "button", class: "small danger-text",
    "aria-label": `Remove property ${p.key}` }, "Remove");
  remove.addEventListener("click", async () => {
    const ok = await act(`mutation RemoveProp(${IMG_ID}, $key: String!) {
      removeImageProperty(id: $id, key: $key) { id } }`, { id: img.id, key: p.key },
    `Property ${p.key} removed`);
    if (ok) ctx.reload("prop-key");
  });
  return h("tr", { dataset: { key: p.key } }, h("th", { scope: "row" }, h("code", {}, p.key)),
    h("td", {}, input), h("td", { class: "row-actions" }, save, remove));
}

// ------------------------------------------------------------------ tags

export function tagsEditor(img, ctx) {
  const input = h("input", { name: "tag", required: true, autocomplete: "off", dataset: { focus: "tag" } });
  const form = h("form", { class: "inline-form", "aria-label": "Add a tag" }, field("New tag", input),
    h("button", { type: "submit", class: "primary" }, "Add tag"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const tag = input.value.trim();
    const ok = await act(`mutation AddTag(${IMG_ID}, $tag: String!) { addImageTag(id: $id, tag: $tag) { id } }`,
      { id: img.id, tag }, `Tag ${tag} added`);
    if (ok) ctx.reload("tag");
  });
  const chips = img.tags.map((t) => h("li", { class: "tag" }, t,
    h("button", { type: "button", class: "chip-x", "aria-label": `Remove tag ${t}`,
      onclick: async () => {
        const ok = await act(`mutation RemoveTag(${IMG_ID}, $tag: String!) {
          removeImageTag(id: $id, tag: $tag) { id } }`, { id: img.id, tag: t }, `Tag ${t} removed`);
        if (ok) ctx.reload("tag");
      } }, "×")));
  return section("Tags", "tags-title",
    chips.length ? h("ul", { class: "tags" }, chips) : h("p", { class: "empty" }, "No tags."), form);
}

// ------------------------------------------------------------------ members

export function membersEditor(img, ctx) {
  const mine = session.claims()?.project;
  const isOwner = mine && mine === img.owner;
  const rows = img.members.map((m) => h("tr", {},
    h("th", { scope: "row" }, h("code", {}, m.memberId)), h("td", {}, badge(m.status)),
    h("td", {}, timeEl(m.updatedAt)),
    h("td", { class: "row-actions" }, memberActions(img, m, mine, ctx))));
  const input = h("input", { name: "member", required: true, autocomplete: "off", dataset: { focus: "member" } });
  const form = h("form", { class: "inline-form", "aria-label": "Share with a project" },
    field("Project id", input),
    h("button", { type: "submit", class: "primary" }, "Share"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const member = input.value.trim();
    const ok = await act(`mutation Share(${IMG_ID}, $member: String!) {
      addImageMember(id: $id, member: $member) { memberId } }`, { id: img.id, member },
    `Shared with ${member}; they must accept it`);
    if (ok) ctx.reload("member");
  });
  const note = img.visibility !== "SHARED"
    ? h("p", { class: "hint" }, "Only images with visibility “shared” can have members. Change the visibility under Details first.")
    : null;
  return section("Members (sharing)", "members-title", note,
    rows.length ? h("table", { class: "members" }, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Project"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Changed"), h("th", { scope: "col" }, h("span", { class: "offscreen" }, "Actions")))),
    h("tbody", {}, rows)) : h("p", { class: "empty" }, "Not shared with any project."),
    isOwner || !mine ? form : null);
}

function memberActions(img, m, mine, ctx) {
  const status = (s) => act(`mutation Answer(${IMG_ID}, $member: String!, $status: MemberStatus!) {
    updateImageMember(id: $id, member: $member, status: $status) { status } }`,
  { id: img.id, member: m.memberId, status: s }, `Share ${s.toLowerCase()}`).then((ok) => ok && ctx.reload());
  if (m.memberId === mine) {
    return [h("button", { type: "button", class: "small", onclick: () => status("ACCEPTED") }, "Accept"),
      h("button", { type: "button", class: "small", onclick: () => status("REJECTED") }, "Reject")];
  }
  return h("button", { type: "button", class: "small danger-text", "aria-label": `Stop sharing with ${m.memberId}`,
    onclick: async () => {
      const ok = await act(`mutation Unshare(${IMG_ID}, $member: String!) {
        removeImageMember(id: $id, member: $member) }`, { id: img.id, member: m.memberId },
      `No longer shared with ${m.memberId}`);
      if (ok) ctx.reload("member");
    } }, "Remove");
}

// ------------------------------------------------------------------ events

function changeText(changes) {
  if (!changes || typeof changes !== "object") return "";
  return Object.entries(changes).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(" · ");
}

export function eventTimeline(img) {
  const items = img.events.map((ev) => h("li", { class: `event event-${ev.action}` },
    h("div", { class: "event-head" }, h("strong", {}, ev.action.replace(/_/g, " ")), " ", timeEl(ev.at)),
    h("div", { class: "event-who" }, [ev.userId, ev.projectId && `project ${ev.projectId}`].filter(Boolean).join(" · ")),
    changeText(ev.changes) ? h("div", { class: "event-changes" }, changeText(ev.changes)) : null));
  return section("History", "events-title",
    items.length ? h("ol", { class: "timeline" }, items) : h("p", { class: "empty" }, "No events recorded."));
}

export { confirmDialog };
