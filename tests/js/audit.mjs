// Runs graphql-http's GraphQL-over-HTTP server audits against a live /graphql URL and prints
// one JSON line per audit: {id, name, status, reason}. Driven by tests/graphql/test_http_audit.py.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql-url>');
  process.exit(2);
}
const results = await Promise.all(serverAudits({ url }).map(({ fn }) => fn()));
for (const r of results) {
  console.log(JSON.stringify({ id: r.id, name: r.name, status: r.status, reason: r.reason ?? null }));
}
