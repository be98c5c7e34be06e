"""The served OpenAPI description matches the routes the gateway really registers, both ways."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from bot.config import Config
from bot.conversation.boundary import Reason
from bot.gateway.app import create_app
from tests.fakes import FakeDialogue
from tests.gateway_kit import make_client, no_speech

METHODS = {"get", "post", "put", "patch", "delete"}


def registered_routes() -> set[tuple[str, str]]:
    app = create_app(Config(), speech=no_speech())
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        routes.add((route.method.lower(), route.resource.canonical))
    return routes


async def test_every_route_is_described_and_every_description_is_a_route(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    client = await make_client(aiohttp_client, demo_db, FakeDialogue())
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    spec = await resp.json()
    described = {
        (method, path) for path, item in spec["paths"].items() for method in item if method in METHODS
    }
    assert described == registered_routes()


async def test_operations_reference_known_schemas_and_errors_use_the_error_shape(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    client = await make_client(aiohttp_client, demo_db, FakeDialogue())
    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    schemas = spec["components"]["schemas"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs and all(r.removeprefix("#/components/schemas/") in schemas for r in refs)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op["responses"], (method, path)
            for status, response in op["responses"].items():
                if status.startswith("4") or (status == "503" and path != "/healthz"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    assert set(schemas["PipelineEvent"]["properties"]["type"]["enum"]) >= {
        "stt-partial",
        "tts-end",
        "run-end",
    }


async def test_the_turn_outcome_documents_every_reason_a_turn_is_not_handled(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    client = await make_client(aiohttp_client, demo_db, FakeDialogue())
    spec = await (await client.get("/api/v1/openapi.json")).json()
    reason = spec["components"]["schemas"]["TurnOutcome"]["properties"]["reason"]
    reasons = {value for name, value in vars(Reason).items() if name.isupper()}
    assert reasons >= {"device_control", "out_of_scope", "chitchat", "not_awaited", "not_understood"}
    assert set(reason["examples"]) == reasons
    assert all(r in reason["description"] for r in reasons)
