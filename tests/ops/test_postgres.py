"""The throwaway PostgreSQL answers, through the drivers the storage backend will use."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.postgres


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy picks psycopg 3 only when told: ``postgresql+psycopg://``."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_a_row_round_trips_through_sqlalchemy_and_psycopg(postgres_url):
    import sqlalchemy as sa

    table_name = f"smoke_{uuid.uuid4().hex[:8]}"
    metadata = sa.MetaData()
    table = sa.Table(
        table_name, metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("code_lookup", sa.LargeBinary, nullable=False),
    )
    engine = sa.create_engine(sqlalchemy_url(postgres_url))
    try:
        assert engine.dialect.driver == "psycopg"
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), {"reference": "Ä-2026-0001", "code_lookup": b"\x00\xff"})
        with engine.connect() as conn:
            row = conn.execute(sa.select(table.c.reference, table.c.code_lookup)).one()
            server = conn.execute(sa.text("SHOW server_version")).scalar_one()
        assert (row.reference, row.code_lookup) == ("Ä-2026-0001", b"\x00\xff")
        assert int(server.split(".")[0]) >= 13
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_listen_notify_works_on_the_cluster(postgres_url):
    # What several registry instances will use to wake each other's streams.
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as listener, \
            psycopg.connect(postgres_url, autocommit=True) as sender:
        listener.execute("LISTEN pickupbox_commands")
        sender.execute("SELECT pg_notify('pickupbox_commands', 'kiosk-7')")
        notices = listener.notifies(timeout=5, stop_after=1)
        assert [n.payload for n in notices] == ["kiosk-7"]


def test_alembic_is_importable_for_the_migrations_to_come():
    import alembic.command  # noqa: F401
    from alembic.config import Config

    assert Config() is not None
