"""Settings: defaults, environment, overrides, and errors for unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import DEFAULT_MODEL, load_settings
from assistant.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings(env={})
    assert settings.model == DEFAULT_MODEL
    assert settings.host == "127.0.0.1"
    assert settings.model_dir == Path("models")


def test_environment_and_overrides() -> None:
    env = {"ASSISTANT_INDEX_DIR": "/tmp/x", "ASSISTANT_PORT": "9000",
           "ASSISTANT_API_KEYS": "a, b", "OTHER": "ignored"}
    settings = load_settings(env=env, port=9100)
    assert settings.index_dir == Path("/tmp/x")
    assert settings.port == 9100
    assert settings.api_keys == ("a", "b")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ASSISTANT_MODLE": "x"}, "unknown environment setting ASSISTANT_MODLE"),
        ({"ASSISTANT_PORT": "eighty"}, "setting port"),
        ({"ASSISTANT_THREADS": "-1"}, "must not be negative"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_unknown_override() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(env={}, colour="blue")
