"""Errors astrepo raises for problems a user can act on.

Problems in the *user's* code (a syntax error, an undecodable file) are not
exceptions: they are `Diagnostic` records and indexing goes on. These classes
are for conditions that stop a command; the CLI prints their message on one
line, without a traceback.
"""


class AstrepoError(Exception):
    """A problem the user can fix; the message says what and how."""


class ConfigError(AstrepoError):
    """An option, path or configuration value is invalid."""


class IndexNotFound(AstrepoError):
    """No index exists at the database path yet."""


class SchemaMismatch(AstrepoError):
    """The index was written by an astrepo with another schema version."""


class StoreError(AstrepoError):
    """The graph database or a cache file could not be used."""


class IndexLocked(AstrepoError):
    """Another process is writing the index."""


class QueryError(AstrepoError):
    """A query could not be parsed, compiled or run."""


class CaptureError(AstrepoError):
    """Tracing a program could not be set up."""
