// Composes Glimpse (live server) with the deployments subgraph using @apollo/composition, then
// runs queries through @apollo/gateway in both directions. Prints one JSON document:
// {compositionErrors, hints, results: {name: {data, errors}}}.
// Usage: node gateway.mjs <glimpse-graphql-url> <bearer-token> <json: [{id, name, imageId}]>
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { startDeployments, typeDefs as deploymentsTypeDefs } from './deployments-subgraph.mjs';

const [glimpseUrl, token, deploymentsJson] = process.argv.slice(2);
const deployments = JSON.parse(deploymentsJson);

async function fetchSdl(url) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  return (await res.json()).data._service.sdl;
}

const QUERIES = {
  // gateway -> deployments -> glimpse (_entities for Image)
  deploymentsToImages: `{ deployments { id name image { id name status tags properties { key value } } } }`,
  // gateway -> glimpse (images page) -> deployments (_entities for Image)
  imagesToDeployments: `{ images(first: 50, sort: [{field: NAME, direction: ASC}]) {
      pageInfo { hasNextPage } edges { node { id name deployments { id name } } } } }`,
  shareablePageInfo: `{ deploymentPageInfo { hasNextPage } images(first: 1) { pageInfo { hasNextPage } } }`,
};

const { server, url: deploymentsUrl } = await startDeployments(deployments);
try {
  const sdl = await fetchSdl(glimpseUrl);
  const composed = composeServices([
    { name: 'images', typeDefs: parse(sdl), url: glimpseUrl },
    { name: 'deployments', typeDefs: deploymentsTypeDefs, url: deploymentsUrl },
  ]);
  const out = {
    compositionErrors: (composed.errors ?? []).map((e) => e.message),
    hints: (composed.hints ?? []).map((h) => h.toString()),
    results: {},
    traced: false,
  };
  if (!composed.errors) {
    const gateway = new ApolloGateway({
      supergraphSdl: composed.supergraphSdl,
      buildService: ({ url }) =>
        new RemoteGraphQLDataSource({
          url,
          willSendRequest({ request }) {
            request.http.headers.set('authorization', `Bearer ${token}`);
          },
          didReceiveResponse({ response }) {
            if (response.extensions && response.extensions.ftv1) out.traced = true;
            return response;
          },
        }),
    });
    const { executor } = await gateway.load();
    for (const [name, query] of Object.entries(QUERIES)) {
      const document = parse(query);
      const result = await executor({
        request: { query, variables: {} },
        document,
        queryHash: name,
        operationName: null,
        context: {},
        metrics: { captureTraces: true },
        logger: console,
        cache: undefined,
        overallCachePolicy: { restrict() {}, policyIfCacheable() { return null; } },
      });
      out.results[name] = { data: result.data ?? null, errors: result.errors ?? null };
    }
    await gateway.stop();
  }
  console.log(JSON.stringify(out));
} finally {
  server.close();
}
