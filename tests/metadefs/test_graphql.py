"""Metadefs through GraphQL: the connection, the entity, mutations, Image.metadefProperties
with a constant number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.metadefs.conftest import Callers

NS_FIELDS = (
    "namespace displayName visibility protected owner resourceTypeAssociations { name prefix }"
)


async def gql(
    http: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: Any
) -> Any:
    r = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def codes(body: Any) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


CREATE = (
    "mutation($input: CreateMetadefNamespaceInput!) { createMetadefNamespace(input: $input) {"
    f" {NS_FIELDS} properties {{ name title type }} tags {{ name }} }} }}"
)

CPU_INPUT = {
    "namespace": "Test::CPU",
    "displayName": "CPU",
    "visibility": "PUBLIC",
    "properties": [
        {
            "name": "cpu_policy",
            "definition": {"title": "Policy", "type": "string", "enum": ["shared", "dedicated"]},
        },
        {"name": "cpu_cores", "definition": {"title": "Cores", "type": "integer", "minimum": 1}},
    ],
    "objects": [
        {
            "name": "Threads",
            "properties": [{"name": "cpu_threads", "definition": {"type": "integer"}}],
        }
    ],
    "tags": ["fast"],
    "resourceTypeAssociations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
}


async def test_create_query_and_entity(http: httpx.AsyncClient, callers: Callers) -> None:
    body = await gql(http, callers.admin, CREATE, input=CPU_INPUT)
    ns = body["data"]["createMetadefNamespace"]
    assert (ns["namespace"], ns["visibility"], ns["owner"]) == ("Test::CPU", "PUBLIC", "admin")
    assert [p["name"] for p in ns["properties"]] == ["cpu_policy", "cpu_cores"]
    assert ns["tags"] == [{"name": "fast"}]
    again = await gql(http, callers.admin, CREATE, input=CPU_INPUT)
    assert codes(again) == ["CONFLICT"]

    q = """query($n: String!) { metadefNamespace(namespace: $n) {
      properties(resourceType: "OS::Glance::Image") { name enum }
      objects(resourceType: "OS::Glance::Image") { name properties { name type } } } }"""
    got = (await gql(http, callers.p1_reader, q, n="Test::CPU"))["data"]["metadefNamespace"]
    assert [p["name"] for p in got["properties"]] == ["hw_cpu_policy", "hw_cpu_cores"]
    assert got["properties"][0]["enum"] == ["shared", "dedicated"]
    assert got["objects"][0]["properties"] == [{"name": "hw_cpu_threads", "type": "integer"}]
    missing = await gql(http, callers.p1_reader, q, n="Nope")
    assert missing["data"]["metadefNamespace"] is None

    entities = """query { _entities(representations: [
        {__typename: "MetadefNamespace", namespace: "Test::CPU"},
        {__typename: "MetadefNamespace", namespace: "Nope"}]) {
        ... on MetadefNamespace { namespace tags { name } } } }"""
    got = (await gql(http, callers.p1_reader, entities))["data"]["_entities"]
    assert got == [{"namespace": "Test::CPU", "tags": [{"name": "fast"}]}, None]
    types = await gql(http, callers.p1_reader, "{ metadefResourceTypes { name } }")
    assert types["data"]["metadefResourceTypes"] == [{"name": "OS::Glance::Image"}]


async def test_anonymous_entities_are_refused_like_rest(
    http: httpx.AsyncClient, callers: Callers
) -> None:
    """Finding 11: anonymous ``_entities`` returned public namespaces while REST answers
    401; now every entity type answers UNAUTHENTICATED without a caller."""
    assert "errors" not in await gql(http, callers.admin, CREATE, input=CPU_INPUT)
    image = await gql(
        http,
        callers.admin,
        'mutation { createImage(input: {name: "pub", visibility: PUBLIC}) { id } }',
    )
    image_id = image["data"]["createImage"]["id"]
    entities = """query($id: ID!) { _entities(representations: [
        {__typename: "MetadefNamespace", namespace: "Test::CPU"},
        {__typename: "Image", id: $id}, {__typename: "Task", id: $id}]) {
        ... on MetadefNamespace { namespace } ... on Image { name } ... on Task { id } } }"""
    body = await gql(http, {}, entities, id=image_id)
    assert body["data"]["_entities"] == [None, None, None]
    assert codes(body) == ["UNAUTHENTICATED"] * 3
    rest = await http.get("/v2/metadefs/namespaces/Test::CPU")
    assert rest.status_code == 401
    signed_in = await gql(http, callers.p1_reader, entities, id=image_id)
    assert signed_in["data"]["_entities"][:2] == [{"namespace": "Test::CPU"}, {"name": "pub"}]


async def test_connection_paging_filters(http: httpx.AsyncClient, callers: Callers) -> None:
    for i in range(5):
        inp: dict[str, Any] = {
            "namespace": f"NS{i}",
            "visibility": "PUBLIC" if i % 2 else "PRIVATE",
        }
        if i >= 3:
            inp["resourceTypeAssociations"] = [{"name": "OS::Nova::Flavor"}]
        assert "errors" not in await gql(http, callers.admin, CREATE, input=inp)
    q = """query($after: String, $filter: MetadefNamespaceFilter, $sort: MetadefNamespaceSort) {
      metadefNamespaces(first: 2, after: $after, filter: $filter, sort: $sort) {
        edges { cursor node { namespace } } pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    while True:
        page = (await gql(http, callers.admin, q, after=after))["data"]["metadefNamespaces"]
        seen += [e["node"]["namespace"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["NS4", "NS3", "NS2", "NS1", "NS0"]
    sort = {"field": "NAMESPACE", "direction": "ASC"}
    page = await gql(http, callers.admin, q, sort=sort, filter={"visibility": "PUBLIC"})
    names = [e["node"]["namespace"] for e in page["data"]["metadefNamespaces"]["edges"]]
    assert names == ["NS1", "NS3"]
    page = await gql(http, callers.admin, q, filter={"resourceTypes": ["OS::Nova::Flavor"]})
    names = [e["node"]["namespace"] for e in page["data"]["metadefNamespaces"]["edges"]]
    assert names == ["NS4", "NS3"]
    # A reader of P1 sees only the public ones (the private ones belong to admin's project).
    page = (await gql(http, callers.p1_reader, q))["data"]["metadefNamespaces"]
    assert [e["node"]["namespace"] for e in page["edges"]] == ["NS3", "NS1"]
    bad = await gql(http, callers.admin, q, after="not-a-cursor")
    assert codes(bad) == ["INVALID_INPUT"]


async def test_mutations_for_every_write(http: httpx.AsyncClient, callers: Callers) -> None:
    await gql(http, callers.admin, CREATE, input=CPU_INPUT)
    a = callers.admin
    steps: list[tuple[str, dict[str, Any]]] = [
        (
            'mutation { createMetadefObject(namespace: "Test::CPU", input: {name: "O",'
            ' required: ["x"],'
            ' properties: [{name: "x", definition: {type: "string"}}]}) { name required } }',
            {},
        ),
        (
            'mutation { updateMetadefObject(namespace: "Test::CPU", name: "O", input: {name: "O2"})'
            " { name } }",
            {},
        ),
        ('mutation { deleteMetadefObject(namespace: "Test::CPU", name: "O2") }', {}),
        ('mutation { deleteMetadefObjects(namespace: "Test::CPU") }', {}),
        (
            'mutation { createMetadefProperty(namespace: "Test::CPU", input: {name: "p",'
            ' definition: {title: "P", type: "boolean"}}) { name type } }',
            {},
        ),
        (
            'mutation { updateMetadefProperty(namespace: "Test::CPU", name: "p", input: {name: "p",'
            ' definition: {title: "P2", type: "boolean"}}) { title } }',
            {},
        ),
        ('mutation { deleteMetadefProperty(namespace: "Test::CPU", name: "p") }', {}),
        ('mutation { createMetadefTag(namespace: "Test::CPU", name: "t") { name } }', {}),
        (
            'mutation { setMetadefTags(namespace: "Test::CPU", names: ["u"], append: true)'
            " { name } }",
            {},
        ),
        (
            'mutation { renameMetadefTag(namespace: "Test::CPU", name: "u", newName: "v")'
            " { name } }",
            {},
        ),
        ('mutation { deleteMetadefTag(namespace: "Test::CPU", name: "v") }', {}),
        (
            'mutation { addMetadefResourceTypeAssociation(namespace: "Test::CPU",'
            ' input: {name: "OS::Cinder::Volume", prefix: "hw_", propertiesTarget: "image"})'
            " { name } }",
            {},
        ),
        (
            'mutation { removeMetadefResourceTypeAssociation(namespace: "Test::CPU",'
            ' name: "OS::Cinder::Volume") }',
            {},
        ),
        ('mutation { setMetadefTags(namespace: "Test::CPU", names: ["a", "b"]) { name } }', {}),
        ('mutation { deleteMetadefTags(namespace: "Test::CPU") }', {}),
        ('mutation { deleteMetadefProperties(namespace: "Test::CPU") }', {}),
        (
            'mutation { updateMetadefNamespace(namespace: "Test::CPU", input: {namespace: "T2",'
            " protected: true}) { namespace protected } }",
            {},
        ),
    ]
    for query, variables in steps:
        body = await gql(http, a, query, **variables)
        assert "errors" not in body, (query, body)
    protected = await gql(http, a, 'mutation { deleteMetadefNamespace(namespace: "T2") }')
    assert codes(protected) == ["FORBIDDEN"]
    await gql(
        http,
        a,
        'mutation { updateMetadefNamespace(namespace: "T2", input: {protected: false})'
        " { protected } }",
    )
    done = await gql(http, a, 'mutation { deleteMetadefNamespace(namespace: "T2") }')
    assert done["data"]["deleteMetadefNamespace"] is True
    got = await gql(http, a, '{ metadefNamespace(namespace: "T2") { namespace } }')
    assert got["data"]["metadefNamespace"] is None


@contextmanager
def count_queries(app: Any) -> Iterator[list[str]]:
    """The SELECTs run inside the block (ORM and direct connections alike)."""
    seen: list[str] = []
    observers = app.state.deps.db.observers

    def before(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    observers.append(before)
    try:
        yield seen
    finally:
        observers.remove(before)


IMAGES = """{ images(first: 50) { nodes { id metadefProperties { name namespace value } } } }"""


async def _images_with_metadefs(http: httpx.AsyncClient, callers: Callers, n: int) -> None:
    for i in range(n):
        m = (
            'mutation($p: [PropertyInput!]) { createImage(input: {name: "i", properties: $p})'
            " { id } }"
        )
        props = [{"key": "hw_cpu_policy", "value": "dedicated"}] if i % 2 == 0 else []
        assert "errors" not in await gql(http, callers.p1_member, m, p=props)


async def test_image_metadef_properties_constant_queries(
    http: httpx.AsyncClient, callers: Callers, app: Any
) -> None:
    await gql(http, callers.admin, CREATE, input=CPU_INPUT)
    await _images_with_metadefs(http, callers, 2)
    with count_queries(app) as small:
        body = await gql(http, callers.p1_member, IMAGES)
    nodes = body["data"]["images"]["nodes"]
    assert len(nodes) == 2
    values = sorted(
        str(p["value"])
        for n in nodes
        for p in n["metadefProperties"]
        if p["name"] == "hw_cpu_policy"
    )
    assert values == ["None", "dedicated"]
    names = {p["name"] for p in nodes[0]["metadefProperties"]}
    assert names == {"hw_cpu_policy", "hw_cpu_cores", "hw_cpu_threads"}
    only = await gql(
        http,
        callers.p1_member,
        "{ images { nodes { metadefProperties(onlySet: true) { name value } } } }",
    )
    got = [n["metadefProperties"] for n in only["data"]["images"]["nodes"]]
    assert sorted(map(len, got)) == [0, 1]

    await _images_with_metadefs(http, callers, 10)
    with count_queries(app) as large:
        body = await gql(http, callers.p1_member, IMAGES)
    assert len(body["data"]["images"]["nodes"]) == 12
    # One page query, two definition queries, one query for the images' values.
    assert len(large) == len(small) == 4
