// Sign-in: a pasted token always; user name + password when the server has a login mutation.

import { ApiError, describeError, gql, session } from "../api.js";
import { announce, field, h } from "../dom.js";
import { argSpecs, control, operation, variables } from "../argform.js";
import { mutationField } from "../schema.js";

/** Check a token with the cheapest authenticated query before keeping it. */
async function acceptToken(token) {
  session.signIn(token);
  try {
    await gql("query SignInCheck { images(first: 1) { pageInfo { hasNextPage } } }", {}, { quiet: true });
  } catch (err) {
    session.signOut();
    throw err;
  }
}

function errorBox() {
  return h("div", { class: "error", role: "alert", hidden: true });
}

function showError(box, err) {
  const { title, detail } = describeError(err);
  box.replaceChildren(h("strong", {}, title), detail ? ` ${detail}` : "");
  box.hidden = false;
}

function tokenForm(onDone) {
  const input = h("textarea", { name: "token", rows: 4, required: true, autocomplete: "off",
    spellcheck: "false" });
  const box = errorBox();
  const form = h("form", { class: "card", "aria-labelledby": "token-title" },
    h("h2", { id: "token-title" }, "Sign in with a token"),
    field("Access token", input, "Paste a bearer token, e.g. from `glimpse token` or the server's start-up output."),
    box,
    h("button", { type: "submit", class: "primary" }, "Sign in with token"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    box.hidden = true;
    try {
      await acceptToken(input.value.replace(/^Bearer\s+/i, ""));
      onDone();
    } catch (err) {
      showError(box, err);
    }
  });
  return form;
}

function labelFor(name) {
  if (/pass/i.test(name)) return "Password";
  if (/user|login|name/i.test(name)) return "User name";
  if (/project|tenant/i.test(name)) return "Project";
  return name;
}

/** Find the token in whatever the login mutation returns (a string or an object). */
function tokenOf(result) {
  if (typeof result === "string") return result;
  if (!result || typeof result !== "object") return null;
  for (const key of ["token", "accessToken", "access_token", "jwt", "bearer"]) {
    if (typeof result[key] === "string") return result[key];
  }
  for (const value of Object.values(result)) {
    if (typeof value === "string" && value.split(".").length === 3 && value.length > 40) return value;
    if (value && typeof value === "object") {
      const inner = tokenOf(value);
      if (inner) return inner;
    }
  }
  return null;
}

function loginForm(loginField, onDone) {
  const controls = argSpecs(loginField).map((spec) => {
    const secret = /pass/i.test(spec.name);
    return control(spec, labelFor(spec.name),
      { autocomplete: secret ? "current-password" : /user|name/i.test(spec.name) ? "username" : "off" });
  });
  const box = errorBox();
  const form = h("form", { class: "card", "aria-labelledby": "login-title" },
    h("h2", { id: "login-title" }, "Sign in with your account"),
    controls.map((c) => c.wrap), box,
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    box.hidden = true;
    try {
      const data = await gql(operation(loginField), variables(loginField, controls), { anonymous: true, quiet: true });
      const token = tokenOf(data[loginField.name]);
      if (!token) throw new ApiError("UNAUTHENTICATED", "The server did not return a token.");
      await acceptToken(token);
      onDone();
    } catch (err) {
      showError(box, err);
    }
  });
  return form;
}

export async function renderSignIn(root, { params, go }) {
  const done = () => {
    announce("Signed in.");
    const back = params.get("next");
    go(back || "images");
  };
  const login = mutationField("login");
  root.append(
    h("h1", {}, "Sign in"),
    h("p", { class: "lead" }, "Your sign-in is kept for this browser tab only and forgotten when you sign out or close the tab."),
    h("div", { class: "signin-grid" }, login ? loginForm(login, done) : null, tokenForm(done)),
  );
}
