"""Object storage through boto3: the embedded SeaweedFS and any external S3 service use this same code.

boto3 and botocore types stop here; every failure becomes a StorageError that names the endpoint.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
)

from pipeline import fsutil
from pipeline.errors import StorageError

log = logging.getLogger(__name__)
SHA256_META = "sha256"
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
                     "ExpiredToken", "403"}


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str | None


class ObjectStore:
    def __init__(self, endpoint: str | None, bucket: str, region: str, access_key_id: str | None,
                 secret_access_key: str | None, addressing_style: str = "path") -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.where = endpoint or f"AWS S3 ({region})"
        config = Config(signature_version="s3v4", region_name=region,
                        retries={"mode": "standard", "max_attempts": 5},
                        connect_timeout=5, read_timeout=60, s3={"addressing_style": addressing_style})
        self.client: Any = boto3.client("s3", endpoint_url=endpoint or None, aws_access_key_id=access_key_id,
                                        aws_secret_access_key=secret_access_key, config=config)

    def _fail(self, action: str, exc: Exception) -> StorageError:
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", "error"))
            if code in _CREDENTIAL_CODES:
                return StorageError(f"storage at {self.where} refused the credentials while trying to {action} "
                                    f"({code}); check [storage] access_key_id and secret_access_key, or the "
                                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables")
            return StorageError(f"storage at {self.where} could not {action} ({code})")
        if isinstance(exc, NoCredentialsError):
            return StorageError(f"storage at {self.where}: no credentials to {action} with; set [storage] "
                                "access_key_id and secret_access_key, or the AWS_ACCESS_KEY_ID and "
                                "AWS_SECRET_ACCESS_KEY variables")
        return StorageError(f"storage at {self.where} is unreachable while trying to {action} "
                            f"({exc}); check that it is running and that [storage] endpoint is "
                            "right (the embedded server: `pipeline storage start`), then run the command again: "
                            "nothing finished is sent twice")

    def ping(self) -> None:
        try:
            self.client.list_buckets()
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("list buckets", exc) from exc

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in {"404", "NoSuchBucket", "NotFound"}:
                raise self._fail(f"open bucket {self.bucket!r}", exc) from exc
        except BotoCoreError as exc:
            raise self._fail(f"open bucket {self.bucket!r}", exc) from exc
        try:
            extra = {} if self.region in ("us-east-1", "auto") else {
                "CreateBucketConfiguration": {"LocationConstraint": self.region}}
            self.client.create_bucket(Bucket=self.bucket, **extra)  # private: no ACL or policy is ever granted
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"create bucket {self.bucket!r}", exc) from exc

    def head(self, key: str) -> StoredObject | None:
        try:
            found = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise self._fail(f"read {key}", exc) from exc
        except BotoCoreError as exc:
            raise self._fail(f"read {key}", exc) from exc
        return StoredObject(key, int(found["ContentLength"]), found.get("Metadata", {}).get(SHA256_META))

    def content_sha256(self, key: str) -> str | None:
        """The SHA-256 of the object's bytes as the server sends them, or None when it is missing or cannot be
        read back (its data lost while the listing still names it, #16): either way it must be sent again."""
        digest = hashlib.sha256()
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            for chunk in body.iter_chunks(1 << 20):
                digest.update(chunk)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "error"))
            if code in _CREDENTIAL_CODES:
                raise self._fail(f"read {key}", exc) from exc
            log.warning("storage at %s could not read back %s (%s): it will be uploaded again", self.where, key,
                        code)
            return None
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise self._fail(f"read {key}", exc) from exc
        except BotoCoreError as exc:  # the body broke off: the stored copy is damaged
            log.warning("storage at %s sent a broken copy of %s (%s): it will be uploaded again", self.where, key,
                        exc)
            return None
        return digest.hexdigest()

    def upload(self, path: Path, key: str, *, sha256: str, content_type: str, cache_control: str) -> None:
        extra = {"ContentType": content_type, "CacheControl": cache_control, "Metadata": {SHA256_META: sha256},
                 "ChecksumAlgorithm": "SHA256"}
        log.debug("uploading %s to s3://%s/%s", path, self.bucket, key)
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"upload {key}", exc) from exc
        except Exception as exc:  # boto3's transfer manager wraps errors in S3UploadFailedError
            raise StorageError(f"storage at {self.where} could not upload {key} ({exc})") from exc

    def put_bytes(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """A small generated object (a share page, a signed playlist), sent with its checksum."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                   CacheControl=cache_control, ChecksumAlgorithm="SHA256")
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"upload {key}", exc) from exc

    def abort_incomplete_uploads(self, prefix: str) -> int:
        """Abort multipart uploads left behind by an interrupted publish; they are invisible but take space."""
        try:
            found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix).get("Uploads", [])
            for upload in found:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"clean up unfinished uploads under {prefix}", exc) from exc
        return len(found)

    def download(self, key: str, path: Path) -> None:
        """Fetch an object to `path`, under a temporary name until it is complete."""
        log.debug("downloading s3://%s/%s to %s", self.bucket, key, path)
        try:
            with fsutil.atomic_file(path) as tmp:
                self.client.download_file(self.bucket, key, str(tmp))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"download {key}", exc) from exc

    def list_objects(self, prefix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                found.extend(StoredObject(item["Key"], int(item["Size"]), None) for item in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"list {prefix}", exc) from exc
        return found

    def list_keys(self, prefix: str) -> list[str]:
        return [item.key for item in self.list_objects(prefix)]

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start:start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except (BotoCoreError, ClientError) as exc:
                raise self._fail(f"delete {prefix}", exc) from exc
        return len(keys)

    def presign_get(self, key: str, expires_s: int) -> str:
        try:
            return str(self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"sign a link to {key}", exc) from exc
