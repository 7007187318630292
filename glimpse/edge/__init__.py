"""Transport-level protections shared by every surface: REST, GraphQL over HTTP and
WebSocket, and the console.

- :mod:`~glimpse.edge.jsonwire`: the one strict JSON decoder of request bodies and WebSocket
  messages (depth, 64-bit numbers, text that every database can store);
- :mod:`~glimpse.edge.bodies`: request bodies and WebSocket messages capped while the
  bytes arrive, before anything parses them;
- :mod:`~glimpse.edge.headers`: security headers (CSP, nosniff, referrer policy);
- :mod:`~glimpse.edge.urls`: absolute URLs built from configuration, never from ``Host``.

This package sits beside ``schema`` and ``rest_compat`` (both import it) and below ``app``;
it imports only ``core`` and Starlette, never resolvers or either API.
"""
