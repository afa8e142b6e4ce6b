"""Streamed answers that an ASGI server streams too.

Served by an ASGI server, Django's StreamingHttpResponse over an ordinary (synchronous)
iterator is first read whole into a list (Django warns "must consume synchronous iterators"):
an export of a million rows would sit in memory before its first byte left. These classes
hand such an iterator over in pieces instead: about 64 KB at a time, each piece read in the
request's own thread (thread-sensitive), where the iterator's database cursor lives. Under a
WSGI server they behave exactly as Django's.
"""

from asgiref.sync import sync_to_async
from django.http import FileResponse as DjangoFileResponse
from django.http import StreamingHttpResponse as DjangoStreamingHttpResponse

PIECE_BYTES = 64 * 1024


def _piece(iterator) -> list[bytes] | None:
    """The next chunks of ``iterator``, about PIECE_BYTES of them; None at its end."""
    chunks, size = [], 0
    for chunk in iterator:
        chunks.append(chunk)
        size += len(chunk)
        if size >= PIECE_BYTES:
            break
    return chunks or None


class _PiecewiseOverAsgi:
    async def __aiter__(self):
        if self.is_async:
            async for part in super().__aiter__():
                yield part
            return
        iterator = iter(self.streaming_content)
        take = sync_to_async(_piece, thread_sensitive=True)
        while (chunks := await take(iterator)) is not None:
            for chunk in chunks:
                yield chunk


class StreamingHttpResponse(_PiecewiseOverAsgi, DjangoStreamingHttpResponse):
    pass


class FileResponse(_PiecewiseOverAsgi, DjangoFileResponse):
    pass
