// GraphQL client, the tab-scoped session and the schema capabilities of this server.

export const GRAPHQL_URL = new URL("../graphql", document.baseURI).href;
const TOKEN_KEY = "glimpse.token";

/** The token lives in sessionStorage: this tab only, gone when the tab closes, no cookie. */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token.trim());
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
  /** Claims of a JWT for display only (the server verifies; the console never trusts these). */
  claims() {
    const t = this.token;
    if (!t) return null;
    try {
      const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    } catch {
      return {};
    }
  },
};

/** A failure the user can read: ``code`` from extensions.code, ``detail`` from the server. */
export class ApiError extends Error {
  constructor(code, detail) {
    super(detail || code);
    this.code = code;
    this.detail = detail || "";
  }
}

const PLAIN = {
  UNAUTHENTICATED: "You are not signed in, or your sign-in has expired.",
  FORBIDDEN: "You are not allowed to do that.",
  NOT_FOUND: "That does not exist, or you cannot see it.",
  CONFLICT: "That is not possible in the current state.",
  GONE: "That was removed while we were working on it.",
  INVALID_INPUT: "Some of the input was not accepted.",
  BAD_USER_INPUT: "Some of the input was not accepted.",
  UNSUPPORTED_MEDIA_TYPE: "The data was refused.",
  QUOTA_EXCEEDED: "Your project's quota would be exceeded.",
  PAYLOAD_TOO_LARGE: "The data is larger than this service accepts.",
  RANGE_NOT_SATISFIABLE: "The requested part of the data does not exist.",
  STORE_UNAVAILABLE: "The storage holding image data is unavailable. Try again later.",
  SERVICE_UNAVAILABLE: "The service is busy or missing a tool. Try again later.",
  GRAPHQL_VALIDATION_FAILED: "The console and the server disagree about the API.",
  INTERNAL_SERVER_ERROR: "The server failed unexpectedly.",
  NETWORK: "The server could not be reached. Check your connection.",
  ABORTED: "Cancelled.",
};

/** {title, detail}: a plain sentence for the code plus the server's own (human) message. */
export function describeError(err) {
  if (err instanceof ApiError) {
    const title = PLAIN[err.code] || "Something went wrong.";
    const detail = err.detail && err.detail !== title ? err.detail : "";
    return { title, detail, code: err.code };
  }
  return { title: "Something went wrong in the console.", detail: String(err?.message || ""), code: "" };
}

/** Listeners told when the server says the caller is not authenticated. */
const unauthListeners = new Set();
export function onUnauthenticated(fn) {
  unauthListeners.add(fn);
}

/** POST a GraphQL operation; returns ``data`` or throws ApiError for the first error. */
export async function gql(query, variables = {}, { anonymous = false, quiet = false } = {}) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (session.token && !anonymous) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(GRAPHQL_URL, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status >= 500 ? "INTERNAL_SERVER_ERROR" : "NETWORK",
      `The server answered ${response.status} ${response.statusText}`);
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const code = first.extensions?.code || "INTERNAL_SERVER_ERROR";
    if (code === "UNAUTHENTICATED" && !quiet) unauthListeners.forEach((fn) => fn());
    throw new ApiError(code, first.message);
  }
  return body.data;
}
