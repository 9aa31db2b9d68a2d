"""The content stores keep attachments' bytes once per digest and hand them back: the database (SQLite and
PostgreSQL) and an S3-compatible bucket (moto's server on a local port, when moto is installed)."""

from __future__ import annotations

import pytest

from bot.attachments import digest
from storage.attachments import DatabaseContent
from storage.db import create_engine
from storage.store import SqlStore

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


async def _round_trip(content) -> None:
    sha = digest(PICTURE)
    assert await content.get(sha) is None
    await content.put(sha, PICTURE)
    await content.put(sha, PICTURE)  # a redelivery: kept once, nothing fails
    assert await content.get(sha) == PICTURE
    assert await content.get(digest(b"other")) is None


async def test_the_database_keeps_each_file_once(each_database_url, clock):
    store = SqlStore(create_engine(each_database_url), clock)
    try:
        await _round_trip(DatabaseContent(store))
        async with store.snapshot() as uow:
            from sqlalchemy import func, select

            from storage.attachment_tables import AttachmentContentRow
            assert (await uow.session.execute(select(func.count()).select_from(AttachmentContentRow))).scalar() == 1
    finally:
        await store.close()


async def test_an_s3_compatible_bucket_keeps_each_file_once(s3_endpoint):
    from aiobotocore.session import get_session

    from storage.s3_content import S3Content

    async with get_session().create_client("s3", endpoint_url=s3_endpoint, region_name="us-east-1") as client:
        await client.create_bucket(Bucket="store-test")
    content = S3Content.from_url(f"s3://store-test/attachments?endpoint={s3_endpoint}")
    await _round_trip(content)
    async with get_session().create_client("s3", endpoint_url=s3_endpoint, region_name="us-east-1") as client:
        listed = await client.list_objects_v2(Bucket="store-test")
    sha = digest(PICTURE)
    assert [o["Key"] for o in listed["Contents"]] == [f"attachments/{sha[:2]}/{sha}"]


def test_an_s3_url_must_name_a_bucket():
    pytest.importorskip("aiobotocore", reason="aiobotocore is not installed")
    from storage.s3_content import S3Content

    for wrong in ("s3://", "https://bucket/x", "bucket/prefix"):
        with pytest.raises(ValueError):
            S3Content.from_url(wrong)
