"""Reads and writes run files by URI: `gs://` through the official client (emulator-aware), or the local bucket folder.

`gs://BUCKET/x` is `$LOCAL_ROOT/bucket/x` when `PIPELINE_MODE=embedded` (LOCAL_ROOT defaults to `.local`), an object of
the Cloud Storage emulator when `STORAGE_EMULATOR_ENDPOINT` is set, else an object of Cloud Storage. Plain paths are
local files. Local writes go through a temporary file and a rename, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

GS = re.compile(r"^gs://([^/]+)/(.*)$")


class StorageError(OSError):
    """An object could not be read or written; the message names the URI."""


def join(base: str, *parts: str) -> str:
    out = base.rstrip("/")
    for p in parts:
        out = f"{out}/{p.strip('/')}"
    return out


def is_gcs(uri: str) -> bool:
    return uri.startswith("gs://")


def _split(uri: str) -> tuple[str, str]:
    m = GS.match(uri)
    if not m:
        raise StorageError(f"not a gs://BUCKET/OBJECT uri: {uri}")
    return m.group(1), m.group(2)


def local_path(uri: str, env: dict[str, str] | None = None) -> Path | None:
    """The local file behind `uri`, or None when it lives in Cloud Storage (or its emulator)."""
    env = dict(os.environ) if env is None else env
    if not is_gcs(uri):
        return Path(uri.removeprefix("file://"))
    if env.get("PIPELINE_MODE") != "embedded":
        return None
    bucket, name = _split(uri)
    expected = env.get("BUCKET")
    if expected and bucket != expected:
        raise StorageError(f"the local store holds bucket {expected}, not {bucket} ({uri})")
    root = (Path(env.get("LOCAL_ROOT") or ".local") / "bucket").resolve()
    path = (root / name).resolve()
    if path != root and root not in path.parents:
        raise StorageError(f"object name escapes the bucket: {uri}")
    return path


@cache
def _client(endpoint: str | None) -> Any:
    from google.cloud import storage

    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(
            project=os.environ.get("GOOGLE_CLOUD_PROJECT", "local-project"),
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": endpoint},
        )
    return storage.Client()


def _not_found(err: BaseException) -> bool:
    """Cloud Storage's 404, as the client raises it (google.api_core.exceptions.NotFound)."""
    from google.api_core.exceptions import NotFound

    return isinstance(err, NotFound)


def _retry() -> Any:
    """The client's retry for uploads: exponential backoff on 429 (one write a second per object name) and 5xx. The
    client applies it to uploads only when asked, as a write without a precondition is not idempotent in general;
    ours write whole objects, so repeating one is harmless."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY


def _blob(uri: str) -> Any:
    bucket, name = _split(uri)
    return _client(os.environ.get("STORAGE_EMULATOR_ENDPOINT") or None).bucket(bucket).blob(name)


def read_bytes(uri: str) -> bytes:
    path = local_path(uri)
    try:
        if path is not None:
            return path.read_bytes()
        data: bytes = _blob(uri).download_as_bytes()
        return data
    except FileNotFoundError:
        raise StorageError(f"no such object: {uri}") from None
    except IsADirectoryError:
        raise StorageError(f"{uri} is a folder, not a file") from None
    except Exception as err:
        if _not_found(err):
            raise StorageError(f"no such object: {uri}") from None
        raise


def read_text(uri: str) -> str:
    try:
        return read_bytes(uri).decode("utf-8")
    except UnicodeDecodeError as err:
        raise StorageError(f"{uri} is not UTF-8 text: {err}") from None


def exists(uri: str) -> bool:
    path = local_path(uri)
    if path is not None:
        return path.is_file()
    return bool(_blob(uri).exists())


def write_bytes(uri: str, data: bytes) -> None:
    path = local_path(uri)
    if path is None:
        _blob(uri).upload_from_string(data, retry=_retry())
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text(uri: str, text: str) -> None:
    write_bytes(uri, text.encode("utf-8"))


def upload_file(src: Path, uri: str) -> None:
    """Copies one local file to `uri` (atomically for local targets)."""
    path = local_path(uri)
    if path is None:
        _blob(uri).upload_from_filename(str(src), retry=_retry())
        return
    if path.resolve() == src.resolve():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, path)


def download_file(uri: str, dest: Path) -> None:
    path = local_path(uri)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path is not None:
        if not path.is_file():
            raise StorageError(f"no such object: {uri}")
        shutil.copyfile(path, dest)
        return
    try:
        _blob(uri).download_to_filename(str(dest))
    except Exception as err:
        if _not_found(err):
            raise StorageError(f"no such object: {uri}") from None
        raise


def upload_dir(src: Path, uri: str) -> list[str]:
    """Copies every file under `src` below `uri`; returns the URIs written."""
    written = []
    for file in sorted(p for p in src.rglob("*") if p.is_file()):
        target = join(uri, file.relative_to(src).as_posix())
        upload_file(file, target)
        written.append(target)
    return written
