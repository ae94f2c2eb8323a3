"""S3 storage through boto3 (credentials from the usual boto3 sources)."""

from collections.abc import Iterator
from typing import BinaryIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from filament.storage.base import Storage, folder


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        # SigV4: presigned URLs then sign their headers (the PUT's Content-Length) and expiry
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(signature_version="s3v4"),
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put_stream(self, key: str, stream: BinaryIO) -> int:
        counter = _CountingReader(stream)
        self.client.upload_fileobj(counter, self.bucket, self._key(key))
        return counter.count

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileNotFoundError(key) from error
            raise
        return cast(BinaryIO, response["Body"])

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])

    def list(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(folder(prefix))):
            for entry in page.get("Contents", []):
                yield entry["Key"][len(self.prefix) :]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def presigned_get(self, key: str, seconds: int = 3600) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=seconds
        )

    def presigned_put(self, key: str, seconds: int = 3600, size: int | None = None) -> str | None:
        params: dict[str, object] = {"Bucket": self.bucket, "Key": self._key(key)}
        if size is not None:
            params["ContentLength"] = size  # a signed header: S3 refuses any other length
        return self.client.generate_presigned_url("put_object", Params=params, ExpiresIn=seconds)

    def etag(self, key: str) -> str | None:
        return str(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ETag"])


class _CountingReader:
    """Wraps a stream to count the bytes boto3 reads from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data
