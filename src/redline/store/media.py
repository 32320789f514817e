"""Where stored media files are kept: a folder under the data dir (the default) or an
S3-compatible object store, so web processes and workers on several machines share them.

Media are content-addressed: a file's key is ``media/ab/cd/<sha256><suffix>``, the same string
the database keeps in ``Media.path``, and in the folder store it is also the file's path under
the data dir (the layout redline always had). With ``REDLINE_MEDIA_URL=s3://bucket/prefix`` the
same key names the object ``prefix/media/ab/cd/...`` in the bucket. Putting a key that is already
there does nothing, since the same key always holds the same bytes.

The stores are small frozen dataclasses, so hashing jobs carry one to their worker processes;
the S3 client behind one is made once per process and configuration.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from redline.config import Settings

_READ_CHUNK = 1 << 20


class MediaStoreError(Exception):
    """The media store could not do what was asked (unreachable, refused, misconfigured)."""


class MissingMedia(MediaStoreError, LookupError):
    """A media file the database names is not in the store."""


class MediaStore(Protocol):
    """Stored media files by key (``Media.path``)."""

    def staging(self) -> Path | None:
        """A folder for files about to be put (on the store's own disk, so putting one is a
        rename), or None for the system's temporary folder."""

    def put(self, key: str, source: Path) -> None:
        """Keep ``source`` under ``key``; ``source`` is consumed (moved or deleted). Nothing
        changes when the key is already there."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""

    def read(self, key: str) -> bytes:
        """The whole file (MissingMedia when it is not there)."""

    def head(self, key: str, count: int) -> tuple[bytes, int]:
        """The first ``count`` bytes and the file's size (MissingMedia when it is not there)."""

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A context manager giving a local file with the content, for tools that read files
        (PIL, FFmpeg, vPDQ): the stored file itself, or a temporary copy removed afterwards."""

    def delete(self, key: str) -> bool:
        """Remove ``key``; whether it was there."""

    def where(self, key: str) -> str:
        """Where ``key`` is kept, for messages (a path or an s3:// URL)."""


def _checked_key(key: str) -> PurePosixPath:
    # Keys come from the database; one that climbs out of the store is refused, never followed.
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts:
        raise MediaStoreError(f"not a media key: {key!r}")
    return path


@dataclass(frozen=True, slots=True)
class FolderStore:
    """Media files under a local folder (the data dir): key ``media/..`` is ``root/media/..``."""

    root: Path

    def _path(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def staging(self) -> Path | None:
        incoming = self.root / "media" / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        return incoming

    def put(self, key: str, source: Path) -> None:
        final = self._path(key)
        if final.exists():
            source.unlink(missing_ok=True)
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        source.replace(final)  # atomic: a killed ingest never leaves a half-written file

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise MissingMedia(f"media file {key} is missing from {self.root}") from None
        except OSError as error:
            raise MediaStoreError(f"cannot read {self._path(key)}: {error.strerror}") from None

    def head(self, key: str, count: int) -> tuple[bytes, int]:
        path = self._path(key)
        try:
            with path.open("rb") as stream:
                return stream.read(count), path.stat().st_size
        except FileNotFoundError:
            raise MissingMedia(f"media file {key} is missing from {self.root}") from None
        except OSError as error:
            raise MediaStoreError(f"cannot read {path}: {error.strerror}") from None

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise MissingMedia(f"media file {key} is missing from {self.root}")
        yield path

    def delete(self, key: str) -> bool:
        path = self._path(key)
        if not path.is_file():
            return False
        path.unlink()
        return True

    def where(self, key: str) -> str:
        return str(self._path(key))


@dataclass(frozen=True, slots=True)
class S3Store:
    """Media objects in a bucket of an S3-compatible store (AWS S3, MinIO, Ceph, ...)."""

    bucket: str
    prefix: str = ""  # without slashes at either end
    endpoint_url: str | None = None  # None: AWS itself
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    def _key(self, key: str) -> str:
        checked = _checked_key(key).as_posix()
        return f"{self.prefix}/{checked}" if self.prefix else checked

    def _client(self) -> Any:
        # Keyed by process too: a client's connections must not cross a fork into a worker.
        return _s3_client(
            os.getpid(), self.endpoint_url, self.region, self.access_key_id, self.secret_access_key
        )

    def where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _failed(self, key: str, error: Exception) -> MediaStoreError:
        from botocore.exceptions import ClientError

        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                return MissingMedia(f"media file {key} is missing from {self.where(key)}")
            if code == "NoSuchBucket":
                return MediaStoreError(f"no bucket {self.bucket!r} at {self._endpoint()}")
        return MediaStoreError(f"object store {self._endpoint()}: {error}")

    def _endpoint(self) -> str:
        return self.endpoint_url or "AWS S3"

    def staging(self) -> Path | None:
        return None

    def put(self, key: str, source: Path) -> None:
        try:
            if not self.exists(key):
                self._client().upload_file(str(source), self.bucket, self._key(key))
        finally:
            source.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        try:
            self._client().head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as error:
            failure = self._failed(key, error)
            if isinstance(failure, MissingMedia):
                return False
            raise failure from None
        return True

    def read(self, key: str) -> bytes:
        try:
            answer = self._client().get_object(Bucket=self.bucket, Key=self._key(key))
            return bytes(answer["Body"].read())
        except Exception as error:
            raise self._failed(key, error) from None

    def head(self, key: str, count: int) -> tuple[bytes, int]:
        try:
            answer = self._client().get_object(
                Bucket=self.bucket, Key=self._key(key), Range=f"bytes=0-{max(count, 1) - 1}"
            )
            data = bytes(answer["Body"].read())[:count]
            # Content-Range: bytes 0-N/SIZE; without it the whole object came back.
            total = str(answer.get("ContentRange", "")).rpartition("/")[2]
            return data, int(total) if total.isdigit() else int(answer["ContentLength"])
        except Exception as error:
            raise self._failed(key, error) from None

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        # The copy has the stored file's name (<sha256><suffix>), as in the folder store: FFmpeg
        # and PIL read content, but the name is what messages and bank entries show.
        folder = Path(tempfile.mkdtemp(prefix="redline-media-"))
        path = folder / PurePosixPath(key).name
        try:
            with path.open("wb") as out:
                try:
                    answer = self._client().get_object(Bucket=self.bucket, Key=self._key(key))
                    shutil.copyfileobj(answer["Body"], out, _READ_CHUNK)
                except Exception as error:
                    raise self._failed(key, error) from None
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def delete(self, key: str) -> bool:
        if not self.exists(key):
            return False
        try:
            self._client().delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as error:
            raise self._failed(key, error) from None
        return True


@lru_cache(maxsize=8)
def _s3_client(
    _pid: int,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> Any:
    """One client per process and configuration (clients are thread-safe; sessions are not,
    so each client gets its own). Credentials left None come from boto3's usual chain:
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws, or the machine's role."""
    import boto3  # only installations that keep media in an object store pay for the import
    from botocore.config import Config

    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        # Path-style addressing: MinIO and most self-hosted stores serve buckets that way.
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        ),
    )


def media_store(settings: Settings) -> MediaStore:
    """The media store the settings name: the data dir's folder unless ``media_url`` is set."""
    if settings.media_url is None:
        return FolderStore(settings.data_dir)
    bucket, _, prefix = settings.media_url.removeprefix("s3://").partition("/")
    secret = settings.s3_secret_access_key
    return S3Store(
        bucket=bucket,
        prefix=prefix.strip("/"),
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
    )
