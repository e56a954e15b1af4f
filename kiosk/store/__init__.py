"""The kiosk's local state: SQLite in WAL mode, with a journal and an outbox."""

from kiosk.store.database import KioskStore, StorageFault, StoreError

__all__ = ["KioskStore", "StorageFault", "StoreError"]
