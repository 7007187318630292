// Streaming upload with XMLHttpRequest (fetch has no upload progress) and in-browser hashing.

import { ApiError, session } from "./api.js";

/** Files above this are not hashed in the browser: WebCrypto has no streaming digest, so the
 * whole file would have to sit in memory. */
export const MAX_VERIFY_BYTES = 1024 * 1024 * 1024;

/**
 * PUT ``file`` to ``url`` (the image's links.file). ``onProgress({loaded, total, rate, eta})``.
 * Returns {promise, cancel}; the promise rejects with ApiError("ABORTED") when cancelled.
 */
export function uploadFile(url, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const started = performance.now();
  const samples = [];
  const promise = new Promise((resolve, reject) => {
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Authorization", `Bearer ${session.token}`);
    xhr.setRequestHeader("x-openstack-image-size", String(file.size));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      const now = performance.now();
      samples.push([now, e.loaded]);
      while (samples.length > 2 && now - samples[0][0] > 3000) samples.shift();
      const [t0, b0] = samples[0];
      const rate = now > t0 ? ((e.loaded - b0) * 1000) / (now - t0) : 0;
      const overall = (e.loaded * 1000) / Math.max(1, now - started);
      const r = rate || overall;
      onProgress({ loaded: e.loaded, total: e.total || file.size, rate: r,
        eta: r > 0 ? ((e.total || file.size) - e.loaded) / r : NaN });
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(restError(xhr));
    });
    xhr.addEventListener("error", () => reject(new ApiError("NETWORK")));
    xhr.addEventListener("abort", () => reject(new ApiError("ABORTED", "The upload was cancelled.")));
    xhr.send(file);
  });
  return { promise, cancel: () => xhr.abort() };
}

const STATUS_CODES = { 400: "INVALID_INPUT", 401: "UNAUTHENTICATED", 403: "FORBIDDEN",
  404: "NOT_FOUND", 409: "CONFLICT", 410: "GONE", 413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE", 503: "STORE_UNAVAILABLE" };

/** The REST error body's message (Glance shape or ours), as an ApiError. */
function restError(xhr) {
  let detail = "";
  try {
    const body = JSON.parse(xhr.responseText);
    detail = String(body?.error?.message || body?.message || body?.title || "")
      .replace(/<br\s*\/?>/gi, " ").trim();
  } catch {
    detail = "";
  }
  const code = STATUS_CODES[xhr.status] || (xhr.status === 413 ? "QUOTA_EXCEEDED" : "INTERNAL_SERVER_ERROR");
  return new ApiError(code, detail || `The server answered ${xhr.status}.`);
}

/** WebCrypto's names for the server's os_hash_algo values it can compute. */
const WEBCRYPTO = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };

/** How an os_hash_algo is shown: "SHA-512", "SHA3_256"... */
export function algoLabel(algo) {
  return WEBCRYPTO[algo] || (algo || "sha512").toUpperCase();
}

/** Hex digest (``algo``, an os_hash_algo value) of a file via WebCrypto, or null when it
 * cannot be computed here (no WebCrypto, file too large, an algorithm WebCrypto lacks). */
export async function digestHex(file, algo) {
  const name = WEBCRYPTO[algo];
  if (!name || !globalThis.crypto?.subtle || file.size > MAX_VERIFY_BYTES) return null;
  const digest = await crypto.subtle.digest(name, await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
