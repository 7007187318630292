// A second federated subgraph for the gateway test: deployments that reference Glimpse images,
// and an extension of Image with the deployments using it. Served over plain node:http.
import http from 'node:http';
import { parse, graphql } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';

export const typeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

  type Deployment @key(fields: "id") {
    id: ID!
    name: String!
    image: Image
  }

  type Image @key(fields: "id") {
    id: ID!
    deployments: [Deployment!]!
  }

  type PageInfo @shareable {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type Query {
    deployments: [Deployment!]!
    deploymentPageInfo: PageInfo!
  }
`);

export function startDeployments(deployments) {
  const byImage = (id) => deployments.filter((d) => d.imageId === id);
  const resolvers = {
    Query: {
      deployments: () => deployments,
      deploymentPageInfo: () => ({ hasNextPage: false, hasPreviousPage: false }),
    },
    Deployment: {
      __resolveReference: (ref) => deployments.find((d) => d.id === ref.id) ?? null,
      image: (d) => ({ __typename: 'Image', id: d.imageId }),
    },
    Image: {
      __resolveReference: (ref) => ({ id: ref.id }),
      deployments: (img) => byImage(img.id),
    },
  };
  const schema = buildSubgraphSchema([{ typeDefs, resolvers }]);
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const { query, variables, operationName } = JSON.parse(body || '{}');
    const result = await graphql({ schema, source: query, variableValues: variables, operationName });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/graphql` });
    });
  });
}
