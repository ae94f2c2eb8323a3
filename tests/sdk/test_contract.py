"""The SDK stays current with the API: every route it calls exists in the server's OpenAPI
document with its method, and every field its models read is in the schema it names. A
renamed route or field fails here, not in a user's script."""

import dataclasses

import pytest
from filament_client import models, routes
from filament_client.project import Project


@pytest.fixture(scope="module")
def openapi() -> dict:
    from filament.api.app import create_app

    return create_app().openapi()


def test_every_route_the_sdk_calls_exists(openapi):
    assert len(routes.ALL) >= 20
    missing = [
        f"{route.method} {route.path}"
        for route in routes.ALL
        if route.method.lower() not in openapi["paths"].get(routes.API_PREFIX + route.path, {})
    ]
    assert missing == []


MODELS = [
    cls
    for cls in vars(models).values()
    if isinstance(cls, type) and issubclass(cls, models.Model) and cls is not models.Model
]


@pytest.mark.parametrize("model", MODELS, ids=lambda cls: cls.__name__)
def test_every_field_the_sdk_reads_is_in_its_schema(openapi, model):
    schema = openapi["components"]["schemas"][model.SCHEMA]
    fields = {f.name for f in dataclasses.fields(model)} - {"raw"}
    assert fields - set(schema["properties"]) == set()
    # what the server always sends, the SDK does not treat as optional the other way round
    required_here = {
        f.name
        for f in dataclasses.fields(model)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    } - {"raw"}
    assert required_here <= set(schema.get("required", []))


def test_the_project_handle_reads_project_public(openapi):
    schema = openapi["components"]["schemas"][Project.SCHEMA]
    assert set(Project.FIELDS) <= set(schema["properties"])
