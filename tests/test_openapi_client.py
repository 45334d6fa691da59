"""An integrator's client written from /openapi.json alone, against a live server.

It knows nothing of the code: it reads the spec, finds the operations for search, ask and
upload, builds requests from their schemas and checks the answers against the response
schemas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assistant.config import Settings

from .servers import indexed_app, running

KEY = "integrator-key"
JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
              "array": list, "object": dict, "null": type(None)}


class SpecClient:
    """Calls operations by what the spec says of them."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.spec = self.http.get("/openapi.json").json()

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def operation(self, want: str) -> tuple[str, str, dict[str, Any]]:
        """(method, path, operation) whose operationId or summary names `want`."""
        for path, methods in self.spec["paths"].items():
            for method, op in methods.items():
                if want in (op.get("operationId", ""), op.get("summary", "").lower()):
                    return method.upper(), path, op
        raise AssertionError(f"the spec has no operation for {want!r}")

    def body_schema(self, op: dict[str, Any], media: str) -> dict[str, Any]:
        return self.resolve(op["requestBody"]["content"][media]["schema"])

    def check(self, value: Any, schema: dict[str, Any], where: str = "$") -> None:
        """Validate the parts of JSON Schema the API uses: types, required, items, anyOf."""
        schema = self.resolve(schema)
        if "anyOf" in schema:
            errors = []
            for option in schema["anyOf"]:
                try:
                    self.check(value, option, where)
                    return
                except AssertionError as exc:
                    errors.append(str(exc))
            raise AssertionError(f"{where}: matches no option: {errors}")
        kind = schema.get("type")
        if kind:
            assert isinstance(value, JSON_TYPES[kind]), f"{where}: {value!r} is not {kind}"
            if kind == "integer":
                assert not isinstance(value, bool), where
        if "enum" in schema:
            assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
        if isinstance(value, dict):
            for name in schema.get("required", []):
                assert name in value, f"{where}: missing {name}"
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    self.check(value[name], sub, f"{where}.{name}")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self.check(item, schema["items"], f"{where}[{i}]")

    def call(self, want: str, json: dict[str, Any] | None = None,
             **kwargs: Any) -> tuple[httpx.Response, dict[str, Any]]:
        method, path, op = self.operation(want)
        response = self.http.request(method, path, json=json, **kwargs)
        return response, op

    def response_schema(self, op: dict[str, Any], status: int) -> dict[str, Any]:
        return op["responses"][str(status)]["content"]["application/json"]["schema"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpecClient]:
    from assistant.config import load_settings

    root = tmp_path_factory.mktemp("integrator")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "ansvar.md").write_text(
        "# Ansvar\n\n## Försäkringskassan\n\nFörsäkringskassan betalar ut "
        "etableringsersättningen som Arbetsförmedlingen beslutat om.\n", encoding="utf-8")
    (corpus / "report.txt").write_text(
        "Annual report\n\nThe county boards collected good examples of outreach work.\n",
        encoding="utf-8")
    settings: Settings = load_settings(env={}, corpus_dir=corpus, index_dir=root / "index",
                                       model="hash", model_dir=root / "models", api_keys=KEY)
    with running(indexed_app(settings)) as url:
        spec_client = SpecClient(url)
        yield spec_client
        spec_client.http.close()


def test_spec_describes_the_api(client: SpecClient) -> None:
    assert client.spec["openapi"].startswith("3.")
    paths = client.spec["paths"]
    for path in ("/api/search", "/api/ask", "/api/documents", "/api/documents/{doc}",
                 "/api/documents/{doc}/file", "/api/health"):
        assert path in paths, path
    schemes = client.spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}


def test_search_from_the_spec(client: SpecClient) -> None:
    method, path, op = client.operation("search")
    assert method == "POST"
    schema = client.body_schema(op, "application/json")
    assert schema["required"] == ["q"]
    k = client.resolve(schema["properties"]["k"])
    body = {"q": "etableringsersättning", "k": k["maximum"]}
    response, op = client.call("search", json=body)
    assert response.status_code == 200
    client.check(response.json(), client.response_schema(op, 200))
    assert response.json()["hits"][0]["doc"] == "ansvar.md"
    too_many, _ = client.call("search", json={"q": "x", "k": k["maximum"] + 1})
    assert too_many.status_code == 422
    client.check(too_many.json(), client.response_schema(op, 422))


def test_ask_from_the_spec(client: SpecClient) -> None:
    method, path, op = client.operation("ask")
    assert (method, path) == ("POST", "/api/ask")
    schema = client.body_schema(op, "application/json")
    assert "question" in schema["required"]
    history = client.resolve(schema["properties"]["history"])
    turn = client.resolve(history["items"])
    assert set(turn["properties"]) == {"question", "answer"}
    response, op = client.call("ask", json={"question": "Who pays establishment benefit?"})
    assert response.status_code == 200
    answer = response.json()
    client.check(answer, client.response_schema(op, 200))
    follow, _ = client.call("ask", json={
        "question": "And who decides?",
        "history": [{"question": "Who pays establishment benefit?",
                     "answer": answer["answer"]}]})
    assert follow.status_code == 200
    client.check(follow.json(), client.response_schema(op, 200))


def test_upload_from_the_spec(client: SpecClient) -> None:
    method, path, op = client.operation("upload_document")
    assert "multipart/form-data" in op["requestBody"]["content"]
    schemes = client.spec["components"]["securitySchemes"]
    bearer = next(s for s in schemes.values() if s["type"] == "http")
    assert bearer["scheme"] == "bearer"
    assert {next(iter(r)) for r in op["security"]} == set(schemes)
    refused = client.http.request(method, path, files={"file": ("a.txt", b"text")})
    assert refused.status_code == 401
    client.check(refused.json(), client.response_schema(op, 401))
    response = client.http.request(method, path, files={"file": ("a.txt", b"Outreach text.")},
                                   headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 202
    client.check(response.json(), client.response_schema(op, 202))
