// Boot and hash router. Routes: #/signin, #/images?..., #/image/<id>, #/new, #/metadefs.
// The hash carries the whole view state so any view can be bookmarked or shared.

import { onUnauthenticated, session } from "./api.js";
import { announce, fill, h } from "./dom.js";
import { hasQuery, loadSchema } from "./schema.js";
import { renderCreate } from "./views/create.js";
import { renderDetail } from "./views/detail.js";
import { renderList } from "./views/list.js";
import { renderMetadefs } from "./views/metadefs.js";
import { renderSignIn } from "./views/signin.js";

const main = document.getElementById("main");

/** "#/images?status=ACTIVE" -> {path: ["images"], params: URLSearchParams}. */
export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  return { path: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

/** Navigate (pushes history) or replace the current entry. */
export function go(path, params, replace = false) {
  const qs = params && [...params].length ? `?${params}` : "";
  const url = `#/${path}${qs}`;
  if (replace) history.replaceState(null, "", url);
  else location.hash = url;
  if (replace) route();
}

function showChrome(signedIn) {
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("who").hidden = !signedIn;
  document.getElementById("nav-metadefs").hidden = !hasQuery("metadefNamespaces");
  if (signedIn) {
    const c = session.claims() || {};
    const who = c.sub ? `${c.sub}${c.project ? ` · project ${c.project}` : ""}` : "Signed in";
    document.getElementById("who-name").textContent = who;
  }
}

function markNav(name) {
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.route === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

const VIEWS = {
  images: renderList,
  image: renderDetail,
  new: renderCreate,
  metadefs: renderMetadefs,
};

let rendering = 0;
async function route() {
  const { path, params } = parseHash();
  const signedIn = Boolean(session.token);
  showChrome(signedIn);
  const name = signedIn ? path[0] || "images" : "signin";
  const view = name === "signin" ? renderSignIn : VIEWS[name] || renderList;
  markNav(name === "image" ? "images" : name);
  const ticket = ++rendering;
  const container = h("div", { class: `view view-${name}` });
  try {
    await view(container, { path, params, go, isCurrent: () => ticket === rendering });
  } catch (err) {
    container.append(h("p", { class: "error", role: "alert" }, `This view failed: ${err.message}`));
  }
  if (ticket !== rendering) return;
  fill(main, container);
  // After an in-app navigation, start keyboard and screen reader users at the new content.
  if (ticket > 1 && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · Glimpse` : "Glimpse console";
}

// The skip link must not touch the hash: the hash is the router's.
document.querySelector(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  announce("Signed out. The token was forgotten.");
  go("signin");
});

let warned = false;
onUnauthenticated(() => {
  if (!session.token || warned) return;
  warned = true;
  session.signOut();
  announce("Your sign-in is no longer valid. Please sign in again.", "error");
  setTimeout(() => {
    warned = false;
    go("signin");
  }, 0);
});

window.addEventListener("hashchange", route);
await loadSchema();
route();
