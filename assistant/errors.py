"""The assistant's exceptions: one root, one class per thing a person can fix."""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting is unknown or has a value that cannot be used."""


class IngestError(AssistantError):
    """A document could not be read or parsed."""


class UnsupportedFormatError(IngestError):
    """A file's type is not one the assistant can read."""


class ModelError(AssistantError):
    """The embedding model could not be prepared or loaded."""


class DocumentNotFoundError(AssistantError):
    """No document of that name is in the corpus or the index."""


class IndexMissingError(AssistantError):
    """There is no built index where one was expected."""


class IndexMismatchError(AssistantError):
    """The index was built with settings (e.g. another model) that differ from the current ones."""


class IndexCorruptError(AssistantError):
    """An index file is missing, truncated or does not match its manifest."""


class EvalFileError(AssistantError):
    """An evaluation file is malformed."""


class TermsFileError(AssistantError):
    """The English–Swedish terms file is malformed."""


class DatabaseError(AssistantError):
    """The PostgreSQL database cannot be reached or failed a request (retry later)."""
