"""Receive one uploaded file: streamed to a temporary file in chunks, refused early when too large.

The multipart body is parsed as it arrives (python-multipart), so a file over the limit is refused
after at most one chunk past it, never buffered in memory or spooled whole. The name the client
gives is only shown in messages: the file on disk gets a random name and a suffix chosen from its
first bytes (gzip, Parquet or plain CSV).
"""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from planner.errors import EvplanError, StorageError

#: Allowance for the multipart framing around the file (boundaries, part headers, small fields).
MULTIPART_OVERHEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"


class UploadError(EvplanError):
    """The request does not carry one usable file."""


class UploadTooLargeError(EvplanError):
    """The upload is over EVPLAN_MAX_UPLOAD_MB; the connection is closed rather than drained."""
    headers = {"Connection": "close"}


class UnsupportedUploadError(EvplanError):
    """The request is not ``multipart/form-data``."""


@dataclass(frozen=True)
class SavedUpload:
    """An uploaded file on disk, under a name the service chose."""

    path: Path
    #: The client's file name, reduced to a safe base name: for messages only, never a path.
    display_name: str
    size_bytes: int
    file_format: str  # "csv" | "csv.gz" | "parquet"


def display_name(client_name: str | None) -> str:
    """A client-supplied file name reduced to a short, printable base name (``upload`` if none)."""
    base = PurePosixPath((client_name or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:120]
    return base or "upload"


def sniff_format(head: bytes) -> str:
    """The file format from its first bytes: gzip means gzipped CSV, ``PAR1`` Parquet, else CSV."""
    if head.startswith(GZIP_MAGIC):
        return "csv.gz"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    return "csv"


def _not_saved(exc: OSError) -> StorageError:
    # No path in the message: it is shown to the client.
    return StorageError(f"the upload cannot be saved on the server ({exc.strerror or exc}); "
                        "check that EVPLAN_DATA_DIR is writable and the disk has space")


def _close_quietly(handle: IO[bytes]) -> None:
    try:
        handle.close()
    except OSError:  # the flush of a file on a full disk fails again; the file is removed anyway
        pass


def _too_large(max_bytes: int) -> UploadTooLargeError:
    return UploadTooLargeError(f"the upload is larger than the limit of {max_bytes / 1e6:g} MB (EVPLAN_MAX_UPLOAD_MB)")


async def receive_upload(request: Request, *, directory: Path, max_bytes: int, field: str = "file") -> SavedUpload:
    """Stream the ``field`` file part of a multipart request into ``directory``.

    Raises
    ------
    UploadTooLargeError
        Content-Length, or the bytes counted while streaming, exceed ``max_bytes`` (plus the framing).
    UnsupportedUploadError, UploadError
        Not multipart, malformed, no ``field`` part, more than one file, or an empty file.
    StorageError
        The file cannot be written under ``directory`` (read-only, disk full).
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedUploadError(
            f"expected a multipart/form-data body with the file in the '{field}' field "
            f"(curl -F {field}=@vehicles.csv), got {request.headers.get('content-type') or 'no Content-Type'}")
    body_limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise _too_large(max_bytes)

    parts = _Parts(field)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle: IO[bytes] = tempfile.NamedTemporaryFile(dir=directory, prefix="upload-", suffix=".part",
                                                        delete=False)
    except OSError as exc:
        raise _not_saved(exc) from None
    tmp = Path(handle.name)
    try:
        parser = MultipartParser(params[b"boundary"], parts.callbacks())
        body_bytes = 0
        async for chunk in request.stream():
            body_bytes += len(chunk)
            if body_bytes > body_limit:
                raise _too_large(max_bytes)
            try:
                parser.write(chunk)
            except EvplanError:
                raise
            except Exception as exc:  # python-multipart raises several error types for bad framing
                raise UploadError(f"the multipart body cannot be parsed ({exc})") from None
            if parts.file_bytes > max_bytes:
                raise _too_large(max_bytes)
            if parts.pending:
                data = b"".join(parts.pending)
                parts.pending.clear()
                await anyio.to_thread.run_sync(handle.write, data)
        parser.finalize()
        parts.check()
        await anyio.to_thread.run_sync(handle.close)
        if parts.file_bytes == 0:
            raise UploadError(f"the uploaded file {display_name(parts.filename)!r} is empty")
        with tmp.open("rb") as fh:
            file_format = sniff_format(fh.read(8))
        final = directory / f"upload-{uuid.uuid4().hex}.{file_format}"
        tmp.replace(final)
        return SavedUpload(final, display_name(parts.filename), parts.file_bytes, file_format)
    except ClientDisconnect:
        raise UploadError("the client disconnected before the upload was complete") from None
    except OSError as exc:
        raise _not_saved(exc) from None
    finally:
        _close_quietly(handle)
        tmp.unlink(missing_ok=True)


class _Parts:
    """python-multipart callbacks: the bytes of the one file part, queued for writing."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.filename: str | None = None
        self.file_parts = 0
        self.file_bytes = 0
        self.pending: list[bytes] = []
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == self.field:
            self.file_parts += 1
            if self.file_parts > 1:
                raise UploadError(f"send exactly one file in the '{self.field}' field")
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace") or None
            self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.file_bytes += end - start
            self.pending.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        self._in_file = False

    def check(self) -> None:
        if self.file_parts == 0:
            raise UploadError(f"no '{self.field}' part in the form: send the file as {self.field}=@vehicles.csv")
