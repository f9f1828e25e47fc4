"""Receive one uploaded file: streamed to a temporary file in chunks, refused early when too large.

The multipart body is parsed as it arrives (python-multipart), so a file over the limit is refused
after at most one chunk past it, never buffered in memory or spooled whole. A gzip file is inflated
as it arrives too (only counted, never kept), so one that expands past EVPLAN_MAX_DECOMPRESSED_MB is
refused before anything reads it whole. The body must arrive within a wall-clock budget
(EVPLAN_UPLOAD_RECEIVE_TIME_LIMIT_S): a client trickling bytes (slow loris) is refused with 408 at the
budget instead of holding the upload open for ever. A body that ends before the closing multipart boundary is a
cut-off upload and is refused, never stored as if complete. The name the client gives is only shown
in messages: the file on disk gets a random name and a suffix chosen from its first bytes (gzip,
Parquet or plain CSV).

``run_within`` runs an ingest in a child process with a wall-clock budget: past it the child is
killed, its uncommitted transaction vanishes with it, and the store is as it was.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import re
import signal
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, ClassVar

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from planner.errors import EvplanError, StorageError
from planner.fleet.reading import (
    GZIP_MAGIC,
    PARQUET_MAGIC,
    DecompressedTooLargeError,
    GzipInflater,
    parquet_declared_bytes,
    too_large,
)

log = logging.getLogger("evplan.uploads")

#: Allowance for the multipart framing around the file (boundaries, part headers, small fields).
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class UploadError(EvplanError):
    """The request does not carry one usable file."""


class UploadTooLargeError(EvplanError):
    """The upload is over EVPLAN_MAX_UPLOAD_MB; the connection is closed rather than drained."""
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


class UnsupportedUploadError(EvplanError):
    """The request is not ``multipart/form-data``."""


class UploadTimeLimitError(UploadError):
    """The body did not arrive within EVPLAN_UPLOAD_RECEIVE_TIME_LIMIT_S (a stalled or trickling client); nothing was stored."""
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


class UploadIncompleteError(UploadError):
    """The body ended before the closing multipart boundary: the file may be cut off, so nothing is stored."""


class IngestTimeLimitError(UploadTooLargeError):
    """The ingest of an upload ran past EVPLAN_INGEST_TIME_LIMIT_S and was stopped; nothing was stored."""


class IngestInterruptedError(EvplanError):
    """The process ingesting an upload died (killed, out of memory) before it answered; nothing was stored."""


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


async def receive_upload(request: Request, *, directory: Path, max_bytes: int, field: str = "file",
                         max_decompressed_bytes: int | None = None,
                         time_limit_s: float | None = None) -> SavedUpload:
    """Stream the ``field`` file part of a multipart request into ``directory``.

    ``max_decompressed_bytes`` (default: 10 x ``max_bytes``) bounds what a gzip file inflates to,
    checked while it streams in, and what a Parquet file declares its columns to take uncompressed.
    ``time_limit_s`` (default: none) bounds the wall-clock time from the first byte of the body to its end.

    Raises
    ------
    UploadTooLargeError
        Content-Length, or the bytes counted while streaming, exceed ``max_bytes`` (plus the framing);
        ``DecompressedTooLargeError`` when the file would expand past ``max_decompressed_bytes``.
    UploadTimeLimitError
        The body took longer than ``time_limit_s`` to arrive.
    UnsupportedUploadError, UploadError
        Not multipart, malformed, cut off before the closing boundary (``UploadIncompleteError``),
        no ``field`` part, more than one file, or an empty file.
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

    if max_decompressed_bytes is None:
        max_decompressed_bytes = 10 * max_bytes
    parts = _Parts(field)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle: IO[bytes] = tempfile.NamedTemporaryFile(dir=directory, prefix="upload-", suffix=".part",
                                                        delete=False)
    except OSError as exc:
        raise _not_saved(exc) from None
    tmp = Path(handle.name)
    sink = _Sink(handle, max_decompressed_bytes)
    try:
        parser = MultipartParser(params[b"boundary"], parts.callbacks())
        body_bytes = 0
        try:
            with anyio.fail_after(time_limit_s):
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
                        sink.name = display_name(parts.filename)
                        await anyio.to_thread.run_sync(sink.write, data)
        except TimeoutError:
            log.warning("upload refused: %s bytes of its body arrived in %g s (EVPLAN_UPLOAD_RECEIVE_TIME_LIMIT_S)",
                        f"{body_bytes:,}", time_limit_s)
            raise UploadTimeLimitError(
                f"the upload did not arrive within {time_limit_s:g} s (EVPLAN_UPLOAD_RECEIVE_TIME_LIMIT_S): "
                f"{body_bytes:,} bytes of its body came in that time; nothing was stored - send it again "
                "over a faster link, or split it into smaller files") from None
        parser.finalize()
        parts.check(body_bytes)
        await anyio.to_thread.run_sync(handle.close)
        if parts.file_bytes == 0:
            raise UploadError(f"the uploaded file {display_name(parts.filename)!r} is empty")
        with tmp.open("rb") as fh:
            file_format = sniff_format(fh.read(8))
        if file_format == "parquet":
            await anyio.to_thread.run_sync(_check_parquet_size, tmp, max_decompressed_bytes,
                                           display_name(parts.filename))
        final = directory / f"upload-{uuid.uuid4().hex}.{file_format}"
        tmp.replace(final)
        return SavedUpload(final, display_name(parts.filename), parts.file_bytes, file_format)
    except DecompressedTooLargeError as exc:
        exc.headers = {"Connection": "close"}  # refused mid-body: the rest is not drained
        raise
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
        self.complete = False
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
            "on_end": self._end,
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

    def _end(self) -> None:  # only after the closing boundary ``--<boundary>--``
        self.complete = True

    def check(self, body_bytes: int) -> None:
        if not self.complete:
            raise UploadIncompleteError(
                f"the upload is incomplete: the body ended after {body_bytes:,} bytes, before the closing multipart "
                "boundary, so the file may be cut off; nothing was stored - send the whole file again")
        if self.file_parts == 0:
            raise UploadError(f"no '{self.field}' part in the form: send the file as {self.field}=@vehicles.csv")


class _Sink:
    """The upload's temporary file; a gzip file is also inflated (only counted) as it is written.

    The counting is ``planner.fleet.reading.GzipInflater``, the reader's own: an upload is refused at the
    same byte, with the same words, as ``evplan fleet ingest`` refuses the file.
    """

    def __init__(self, handle: IO[bytes], max_decompressed_bytes: int) -> None:
        self.handle = handle
        self.limit = max_decompressed_bytes
        self.name = "upload"  # the client's file name, once its part headers are read
        self.inflater: GzipInflater | None = None
        self.damaged = False  # the reader stops at the same byte and says so
        self._head: bytes | None = b""  # the first bytes, until the format is known (then None)

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        if self._head is not None:
            self._head += data
            if len(self._head) < len(GZIP_MAGIC):
                return
            data, self._head = self._head, None
            if data.startswith(GZIP_MAGIC):
                self.inflater = GzipInflater(self.limit, name=self.name, keep=False)
        if self.inflater is not None and not self.damaged:
            try:
                self.inflater.feed(data)
            except zlib.error:
                self.damaged = True


def _check_parquet_size(path: Path, limit: int, name: str) -> None:
    """Refuse a Parquet file whose footer declares more uncompressed column data than ``limit``."""
    declared = parquet_declared_bytes(path)
    if declared is not None and declared > limit:
        raise too_large(name, "a Parquet file", limit, declared_bytes=declared)


# --------------------------------------------------------------------- an ingest with a time budget

#: How often an ingest process checks that the service that started it is still there, seconds.
_PARENT_CHECK_S = 0.5
_context: Any = None
_context_lock = threading.Lock()


def _ingest_context() -> Any:
    """A forkserver context: each ingest is a fork of a clean, pre-imported process (fast, no threads)."""
    global _context
    with _context_lock:
        if _context is None:
            _context = mp.get_context("forkserver")
            _context.set_forkserver_preload(["app.fleet_records"])
        return _context


def _child(conn: Any, service_pid: int, fn: Callable[..., Any], args: tuple, kwargs: dict,
           then: Callable[[Any], Any] | None) -> None:
    def watch() -> None:  # no ingest outlives its service (it could commit after the service said nothing)
        while True:
            time.sleep(_PARENT_CHECK_S)
            try:
                os.kill(service_pid, 0)
            except ProcessLookupError:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()
    try:
        result = fn(*args, **kwargs)
        conn.send(("ok", then(result) if then is not None else result))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the service
        state = {}
        for key, value in vars(exc).items():
            try:
                pickle.dumps(value)
            except Exception:  # noqa: BLE001
                continue
            state[key] = value
        conn.send(("error", type(exc), str(exc), state))
    finally:
        conn.close()


def _rebuild(cls: type[BaseException], message: str, state: dict[str, Any]) -> BaseException:
    """The child's exception again: same class (so the same HTTP status), same message and attributes."""
    try:
        exc = cls.__new__(cls)
        BaseException.__init__(exc, message)
        exc.__dict__.update(state)
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{cls.__name__}: {message}")


def run_within(time_limit_s: float, fn: Callable[..., Any], *args: Any,
               then: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
    """``then(fn(*args, **kwargs))`` in a child process, stopped after ``time_limit_s`` seconds of wall clock.

    ``fn`` and ``then`` must be importable functions (or picklable callables such as ``methodcaller``);
    ``then`` shrinks the result in the child (e.g. to a JSON-ready report) before it is sent back.
    Blocks the calling thread, never the event loop (call it from a worker thread).

    Raises
    ------
    IngestTimeLimitError
        Over the budget: the child is killed (SIGKILL), so an open SQLite transaction never commits.
    IngestInterruptedError
        The child died without answering (e.g. the OOM killer).
    Exception
        Whatever ``fn`` raised, with its class and message.
    """
    ctx = _ingest_context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(sender, os.getpid(), fn, args, kwargs, then),
                       name="evplan-ingest", daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(time_limit_s):
            proc.kill()
            proc.join(timeout=10)
            log.warning("%s stopped after its time limit of %g s", getattr(fn, "__name__", "child process"),
                        time_limit_s)
            raise IngestTimeLimitError(
                f"the file took longer than {time_limit_s:g} s to ingest (EVPLAN_INGEST_TIME_LIMIT_S) and was "
                "stopped; nothing was stored - split it into smaller files")
        try:
            message = receiver.recv()
        except EOFError:
            proc.join(timeout=10)
            code = proc.exitcode
            how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
                   and -code in signal.valid_signals() else f"exit code {code}")
            raise IngestInterruptedError(
                f"the ingest process stopped without an answer ({how}; out of memory?); nothing was stored - "
                "retry, or send a smaller file") from None
    finally:
        receiver.close()
    proc.join(timeout=10)
    if message[0] == "ok":
        return message[1]
    _, cls, text, state = message
    raise _rebuild(cls, text, state)
