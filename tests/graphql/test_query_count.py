"""DataLoaders: SQL statements per request do not grow with the page or the batch.

Counted with a ``before_cursor_execute`` listener on the application's engine, through the
HTTP endpoint, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import counting
from tests.graphql.conftest import Client, make_image

PAGE = """
{ images(first: 100, sort: [{field: NAME, direction: ASC}]) { edges { node {
    id name status size tags properties { key value } propertiesJson property(key: "k0")
    stores members { memberId status } links { file }
} } } }
"""

ENTITIES = """
query($r: [_Any!]!) { _entities(representations: $r) {
    ... on Image { id name tags properties { key value } members { memberId } }
} }
"""

ADD_MEMBER = "mutation($id: ID!, $m: String!) { addImageMember(id: $id, member: $m) { status } }"


async def _add_images(client: Client, start: int, stop: int) -> list[str]:
    ids = []
    for i in range(start, stop):
        image_id = await make_image(
            client,
            name=f"img-{i:03d}",
            visibility="SHARED",
            tags=[f"t{i}", "common"],
            properties=[{"key": f"k{j}", "value": f"v{i}-{j}"} for j in range(3)],
        )
        await client.data(ADD_MEMBER, {"id": image_id, "m": "P9"})
        ids.append(image_id)
    return ids


async def _count(app: Any, client: Client, query: str, variables: Any = None) -> tuple[int, Any]:
    with counting(app) as counter:
        data = await client.data(query, variables)
    return len(counter.statements), data


async def test_image_page_costs_constant_queries(app: Any, as_member: Client) -> None:
    await _add_images(as_member, 0, 5)
    small, data = await _count(app, as_member, PAGE)
    assert len(data["images"]["edges"]) == 5
    await _add_images(as_member, 5, 50)
    large, data = await _count(app, as_member, PAGE)
    edges = data["images"]["edges"]
    assert len(edges) == 50
    node = edges[7]["node"]
    assert node["tags"] == ["common", "t7"]
    assert node["members"] == [{"memberId": "P9", "status": "PENDING"}]
    assert node["property"] == "v7-0"
    assert large == small, f"{small} statements for 5 images, {large} for 50"
    assert small <= 3, small  # the page with its relations, then the members batch


async def test_batched_entities_cost_constant_queries_and_keep_order(
    app: Any, as_member: Client, as_other: Client
) -> None:
    ids = await _add_images(as_member, 0, 50)
    private = await make_image(as_other, name="not-yours", visibility="PRIVATE")
    unknown = "00000000-0000-4000-8000-000000000000"

    def reps(image_ids: list[str]) -> dict[str, Any]:
        return {"r": [{"__typename": "Image", "id": i} for i in image_ids]}

    few = [ids[3], unknown, ids[1], "not-a-uuid", private]
    small, data = await _count(app, as_member, ENTITIES, reps(few))
    got = data["_entities"]
    assert [e and e["id"] for e in got] == [ids[3], None, ids[1], None, None]
    assert got[0]["tags"] == ["common", "t3"]

    many = [*list(reversed(ids)), unknown, private]
    large, data = await _count(app, as_member, ENTITIES, reps(many))
    got = data["_entities"]
    assert [e and e["id"] for e in got] == [*reversed(ids), None, None]
    assert got[0]["name"] == "img-049"
    assert got[0]["properties"][0] == {"key": "k0", "value": "v49-0"}
    assert large == small, f"{small} statements for 5 representations, {large} for 52"
    assert small <= 3, small  # the images with their relations, then the members batch


IMAGE = """query($id: ID!) { image(id: $id) { id name status tags properties { key value }
  stores createdAt } }"""
IMAGES = "{ images(first: 25) { pageInfo { hasNextPage endCursor } nodes { id name tags } } }"


async def test_image_by_id_and_a_page_are_one_statement_each(app: Any, as_member: Client) -> None:
    ids = await _add_images(as_member, 0, 3)
    n, data = await _count(app, as_member, IMAGE, {"id": ids[1]})
    assert data["image"]["tags"] == ["common", "t1"]
    assert n == 1
    n, data = await _count(app, as_member, IMAGES)
    assert len(data["images"]["nodes"]) == 3
    assert n == 1
