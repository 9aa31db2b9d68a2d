"""The S3-compatible content store (ATTACHMENTS_URL=s3://bucket/prefix): attachments' bytes as objects named by
their digest, through aiobotocore (the maintained asyncio client over botocore), for teams whose files outgrow the
database. Credentials and region come the AWS way, from the environment; the endpoint (MinIO, Ceph, a cloud's
S3-compatible service) from `?endpoint=` in the URL or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from aiobotocore.session import get_session
from botocore.exceptions import ClientError

MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Content:
    """bot.attachments.ContentStore on an S3-compatible bucket: put once per digest, get by digest."""

    def __init__(self, *, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self.session = get_session()

    @classmethod
    def from_url(cls, url: str) -> S3Content:
        """s3://bucket/prefix[?endpoint=https://…&region=…] → the store; ValueError for anything else."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"ATTACHMENTS_URL must look like s3://bucket/prefix, not {url!r}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        return cls(bucket=parts.netloc, prefix=parts.path, endpoint_url=query.get("endpoint"),
                   region=query.get("region"))

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def _client(self):
        return self.session.create_client("s3", endpoint_url=self.endpoint_url, region_name=self.region)

    async def put(self, sha256: str, data: bytes) -> None:
        """Store the bytes under their digest (an object of the same name holds the same bytes: written again,
        nothing changes)."""
        async with self._client() as client:
            await client.put_object(Bucket=self.bucket, Key=self._key(sha256), Body=data,
                                    ContentType="application/octet-stream")

    async def get(self, sha256: str) -> bytes | None:
        """The bytes under `sha256`, or None when the bucket has no such object."""
        async with self._client() as client:
            try:
                response = await client.get_object(Bucket=self.bucket, Key=self._key(sha256))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in MISSING:
                    return None
                raise
            async with response["Body"] as body:
                return await body.read()
