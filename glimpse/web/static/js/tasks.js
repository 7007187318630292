// Live task progress by polling task(id) (a subscription can replace this once it exists).
// The Task type is read from the schema, so whatever fields it has are shown.

import { describeError, gql } from "./api.js";
import { badge, fill, h, timeEl } from "./dom.js";
import { getType, hasQuery, namedType, queryField, resultSelection } from "./schema.js";

const FINAL = /^(success|succeeded|done|completed|complete|failure|failed|error|cancelled|canceled|killed)$/i;
const POLL_MS = 1000;

/** A task-looking object inside a mutation result: {__typename: "...Task...", id}. */
export function findTask(value) {
  if (!value || typeof value !== "object") return null;
  if (/task/i.test(value.__typename || "") && value.id) return value;
  for (const v of Object.values(value)) {
    const found = findTask(v);
    if (found) return found;
  }
  return null;
}

/** Progress as a fraction 0..1, or null. An Int field is a percentage, a Float a fraction. */
function fraction(task) {
  const key = ["progress", "percent", "percentage"].find((k) => typeof task[k] === "number");
  if (!key) return null;
  const ref = getType(task.__typename)?.fields?.find((f) => f.name === key)?.type;
  const isInt = ref ? namedType(ref).name === "Int" : task[key] > 1;
  return Math.min(1, Math.max(0, isInt ? task[key] / 100 : task[key]));
}

/** Render one task's state (status, progress bar, message and other scalar fields). */
export function taskView(task) {
  const f = fraction(task);
  const skip = new Set(["__typename", "id", "type", "kind", "status", "progress", "percent", "percentage", "message"]);
  return h("div", { class: "task" },
    h("div", { class: "task-head" }, h("strong", {}, task.type || task.kind || "Task"), " ",
      task.status ? badge(task.status) : null, h("code", { class: "task-id" }, task.id)),
    f === null ? null : h("progress", { max: 1, value: f, "aria-label": "Task progress" },
      `${Math.round(f * 100)} %`),
    task.message ? h("p", {}, task.message) : null,
    h("dl", { class: "facts compact" }, Object.entries(task)
      .filter(([k, v]) => !skip.has(k) && v !== null && typeof v !== "object")
      .map(([k, v]) => [h("dt", {}, k), h("dd", {}, /At$/.test(k) ? timeEl(v) : String(v))])));
}

/** Poll task(id) into ``box`` until it reaches a final status; resolves with the last state. */
export async function followTask(box, id, onFinal) {
  if (!hasQuery("task")) {
    fill(box, h("p", {}, `Task ${id} started.`));
    return null;
  }
  const query = `query Task($id: ID!) { task(id: $id) ${resultSelection(queryField("task"), 1)} }`;
  for (;;) {
    let task;
    try {
      task = (await gql(query, { id })).task;
    } catch (err) {
      const { title, detail } = describeError(err);
      fill(box, h("p", { class: "error", role: "alert" }, `${title} ${detail}`));
      return null;
    }
    if (!box.isConnected) return task;
    fill(box, task ? taskView(task) : h("p", {}, "The task is no longer visible."));
    if (!task || FINAL.test(String(task.status || ""))) {
      if (onFinal) onFinal(task);
      return task;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
