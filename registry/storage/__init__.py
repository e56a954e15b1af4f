"""Where the registry keeps its records: SQLite (embedded default) or PostgreSQL (fleets).

``location`` turns what the operator typed (a path, ``sqlite:///…`` or
``postgresql://…``) into an engine and explains failures in one line;
``migrations`` holds the versioned schema (Alembic) and the checks that keep
code and schema in step. ``registry.database`` builds the Transaction API on top.
"""

from registry.storage.location import Location, StorageError, locate

__all__ = ["Location", "StorageError", "locate"]
