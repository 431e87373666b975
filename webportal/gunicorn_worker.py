"""A gunicorn worker that slow clients cannot pin: gthread, but a connection gets a thread only once its whole
request head has arrived.

gunicorn's sync worker reads a request head blocking, so a client that never finishes its headers holds the
worker until the worker timeout; four of them left /healthz unanswered. Here the event loop reads every head
without blocking and within HEAD_TIMEOUT_S; a client that never finishes costs one socket (up to
worker_connections), never a thread. Bodies are still read by the thread: the reverse proxy in front
(nginx in compose, the Ingress on Kubernetes) buffers them whole.

    gunicorn --config python:webportal.gunicorn_conf   (worker_class = webportal.gunicorn_worker.HeadBufferingWorker)
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

HEAD_TIMEOUT_S = 10.0  # the whole request head (request line and headers), from the first byte waited for
HEAD_MAX_BYTES = 64 * 1024  # gunicorn's own limits (limit_request_line, _fields) refuse a longer head anyway


class HeadBufferingWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading_heads: dict[int, TConn] = {}

    def accept(self, listener):
        try:
            sock, addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._read_head_later(TConn(self.cfg, sock, addr, listener.getsockname()))

    def on_client_socket_readable(self, conn, client):
        """A keep-alive connection's next request: its head is read by the loop too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_head_later(conn)

    def _read_head_later(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        conn.head = bytearray()
        conn.head_deadline = time.monotonic() + HEAD_TIMEOUT_S
        self.reading_heads[id(conn)] = conn
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_bytes, conn))

    def _on_head_bytes(self, conn: TConn, sock) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop_head(conn)
            return
        conn.head += data
        if b"\r\n\r\n" not in conn.head and len(conn.head) < HEAD_MAX_BYTES:
            return
        self.poller.unregister(sock)
        del self.reading_heads[id(conn)]
        conn.init()  # the HTTP/1 parser on the (now blocking) socket; the bytes read go back in front of it
        conn.parser.unreader.unread(bytes(conn.head))
        conn.data_ready = True
        self.enqueue_req(conn)

    def _drop_head(self, conn: TConn) -> None:
        self.reading_heads.pop(id(conn), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def murder_keepalived(self):
        """At a graceful stop, idle keep-alive connections close at once (no request is in flight on them);
        gthread would wait for their keep-alive timeout, past the graceful timeout when a client holds one."""
        if not self.alive:
            for conn in list(self.keepalived_conns):
                self.keepalived_conns.remove(conn)
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self.poller.unregister(conn.sock)
                self.nr_conns -= 1
                conn.close()
        super().murder_keepalived()

    def murder_pending(self):
        """Drop heads past their deadline; at a graceful stop, every head not yet complete (no request started)."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.reading_heads.values() if c.head_deadline <= now or not self.alive]:
            self._drop_head(conn)
