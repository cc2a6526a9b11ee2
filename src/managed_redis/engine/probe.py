"""Asking many Redis and Sentinel processes a question at once, for the price of one deadline.

The supervisor asks every host a question each pass, hundreds of them. With one blocking
client per host a question costs ~60-100 µs of CPU here, and a frozen host stalls whoever
asked it. A round here sends its commands to every endpoint over connections kept open
between rounds, waits on all of them with one selector until one deadline, and lets hiredis
parse the replies: ~10-20 µs of CPU per question (``bench/supervision.py`` prints it), and
a host that does not answer costs the round its deadline, never more.

A new connection sends ``AUTH`` pipelined before the commands. A connection whose replies did
not come in time is kept (a busy machine answers late, and a new connection costs more) and
the late replies are skipped when they come, so one is never read as the next round's. A
kept connection found closed (Sentinel drops clients of the instances it reconfigures) is
replaced once within the same round.

A kept connection stays registered with the prober's one ``epoll`` between rounds, and its
commands stay packed: a round on kept connections costs a ``send`` and a ``recv`` per
endpoint and one ``epoll_wait`` per batch of replies, no registration calls. What such a
connection receives between rounds (late replies, the server closing it) is read when the
next round hears of it.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import hiredis

from managed_redis.engine.connections import CONNECT_TIMEOUT_S, Endpoint

Command = tuple[str, ...]
# A kept connection owing more replies than this is closed instead of waited on.
MAX_OWED = 16
# A kept connection not asked anything for this many rounds is closed (its host is gone).
IDLE_ROUNDS = 10
# epoll events: the connection can be read (or has failed: reading says how), or written.
READABLE = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
WRITABLE = select.EPOLLOUT


@dataclass(frozen=True)
class Question:
    """The commands to send one endpoint, pipelined, in order."""

    endpoint: Endpoint
    commands: tuple[Command, ...]


@dataclass(frozen=True)
class Answer:
    """The replies to a question in its order, or why there are none.

    A reply that is a Redis error is a ``hiredis.ReplyError`` in ``replies``; ``error`` is set
    only when the endpoint could not be asked at all or did not answer in time.
    """

    replies: tuple[object, ...] = ()
    error: str = ""

    @property
    def answered(self) -> bool:
        return not self.error


class _Link:
    """One non-blocking connection: connect, TLS handshake, write, read replies."""

    def __init__(self, endpoint: Endpoint, contexts: dict[Path, ssl.SSLContext]) -> None:
        self.endpoint = endpoint
        self.sock: socket.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.connected = False
        self.handshaking = endpoint.ca_file is not None
        self.authenticated = False
        self.reader = hiredis.Reader(encoding="utf-8", errors="replace")
        self.out = b""
        self.expected = 0
        self.replies: list[object] = []
        self.received_any = False
        # Replies still owed to an earlier round that gave up waiting: read and thrown away
        # before this round's, so a late reply is never taken for a new one.
        self.owed = 0
        # The events it is registered for with the prober's epoll (0: not registered).
        self.registered = 0
        self._packed_for: tuple[Command, ...] = ()
        self._packed = b""
        self._tls_wants = WRITABLE
        self._contexts = contexts
        code = self.sock.connect_ex((endpoint.address, endpoint.port))
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, f"connect to {endpoint.address}:{endpoint.port}: {errno.errorcode.get(code, code)}")

    def begin(self, commands: tuple[Command, ...]) -> None:
        if commands != self._packed_for:
            self._packed_for, self._packed = commands, b"".join(_pack(command) for command in commands)
        self.out, self.expected = self._packed, len(commands)
        if not self.authenticated:
            self.out = _pack(("AUTH", self.endpoint.username, self.endpoint.password)) + self.out
            self.expected += 1
        self.replies = []
        self.received_any = False

    @property
    def events(self) -> int:
        if self.connected and self.handshaking:
            return self._tls_wants
        if not self.connected or self.out:
            return WRITABLE
        return select.EPOLLIN

    def step(self, mask: int) -> bool:
        """Make progress on what epoll reported (``mask``); True once every reply is in."""
        if not self.connected:
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, errno.errorcode.get(code, str(code)))
            self.connected = True
            if self.endpoint.ca_file is not None:
                context = self._context(self.endpoint.ca_file)
                self.sock = context.wrap_socket(
                    self.sock, server_hostname=self.endpoint.address, do_handshake_on_connect=False
                )
        if self.handshaking:
            try:
                self.sock.do_handshake()  # type: ignore[attr-defined]
            except ssl.SSLWantReadError:
                self._tls_wants = select.EPOLLIN
                return False
            except ssl.SSLWantWriteError:
                self._tls_wants = WRITABLE
                return False
            self.handshaking = False
        if self.out and not self.flush():
            return False
        if mask & READABLE or isinstance(self.sock, ssl.SSLSocket):
            return self._read()
        return False

    def flush(self) -> bool:
        """Write what is pending; True once all of it is written."""
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return False
        self.out = self.out[sent:]
        return not self.out

    def _read(self) -> bool:
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return False
            if not data:
                raise ConnectionError("the connection was closed")
            self.received_any = True
            self.reader.feed(data)
            while len(self.replies) < self.expected:
                reply = self.reader.gets()
                if reply is False:
                    break
                if self.owed:
                    self.owed -= 1
                    continue
                self.replies.append(reply)
            if len(self.replies) == self.expected:
                return True
            if not (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
                return False

    def discard(self) -> bool:
        """Read what came between rounds, throwing away the replies owed to an earlier one;
        False if the connection is of no more use (closed, failed, or a reply nobody owes)."""
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return True
            except OSError:
                return False
            if not data:
                return False
            self.reader.feed(data)
            try:
                while self.reader.gets() is not False:
                    if not self.owed:
                        return False
                    self.owed -= 1
            except hiredis.ProtocolError:
                return False

    def give_up(self) -> bool:
        """The round is over without all the replies: whether the link can be kept (its
        request was sent in full; the replies still to come, an AUTH's included, are owed
        and will be skipped). On a busy machine a new connection's first answer may take
        longer than a round: dropping it would start that over every round."""
        if not (self.connected and not self.handshaking and not self.out):
            return False
        self.owed += self.expected - len(self.replies)
        self.replies, self.expected = [], 0
        return self.owed <= MAX_OWED

    def finish(self) -> tuple[object, ...]:
        """The replies to the caller's commands, once AUTH (if it was sent) succeeded."""
        replies = self.replies
        if not self.authenticated:
            auth, replies = replies[0], replies[1:]
            if isinstance(auth, hiredis.ReplyError):
                raise PermissionError(f"authentication failed: {auth}")
            self.authenticated = True
        return tuple(replies)

    def _context(self, ca_file: Path) -> ssl.SSLContext:
        context = self._contexts.get(ca_file)
        if context is None:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
            self._contexts[ca_file] = context
        return context

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Prober:
    """Asks rounds of questions; keeps one connection per endpoint between rounds.

    Not thread-safe: one prober belongs to one thread (the supervisor's, or one operation's).
    """

    def __init__(self) -> None:
        self._links: dict[Endpoint, _Link] = {}
        self._contexts: dict[Path, ssl.SSLContext] = {}
        self._round = 0
        self._asked_in: dict[Endpoint, int] = {}
        self._poll = select.epoll()
        self._by_fd: dict[int, _Link] = {}  # every registered connection, by its descriptor

    def ask(self, questions: Sequence[Question], timeout_s: float) -> list[Answer]:
        """One answer per question, in order, within ``timeout_s`` seconds (plus a little CPU).

        Never raises for an endpoint's fault: it is in that answer's ``error``. Connections
        to endpoints not asked for ``IDLE_ROUNDS`` rounds (hosts gone since) are closed.
        """
        self._round += 1
        for question in questions:
            self._asked_in[question.endpoint] = self._round
        for endpoint in [e for e in self._links if self._round - self._asked_in.get(e, 0) > IDLE_ROUNDS]:
            self._drop(self._links[endpoint])
            self._asked_in.pop(endpoint, None)
        deadline = time.monotonic() + timeout_s
        answers: list[Answer | None] = [None] * len(questions)
        active: dict[int, tuple[int, _Link, bool]] = {}  # fd -> (question index, link, may retry)
        try:
            for index, question in enumerate(questions):
                self._start(active, answers, index, question, retry=question.endpoint in self._links)
            while active:
                remaining = deadline - time.monotonic()
                # Past the deadline, what already arrived is still read (this process may have
                # had no CPU to read it in time on a busy machine); only then is it over.
                events = self._poll.poll(max(0.0, min(remaining, CONNECT_TIMEOUT_S)))
                if not events and remaining <= 0:
                    break
                for fd, mask in events:
                    entry = active.get(fd)
                    if entry is not None:
                        self._advance(active, answers, questions, fd, entry, mask)
                    else:
                        self._between_rounds(fd)
        finally:
            for index, link, _ in active.values():
                answers[index] = Answer(error=f"no answer within {timeout_s:.1f} s")
                if link.give_up():
                    self._register(link, select.EPOLLIN)
                else:
                    self._drop(link)
        return [answer or Answer(error="not asked") for answer in answers]

    def _start(
        self,
        active: dict[int, tuple[int, _Link, bool]],
        answers: list[Answer | None],
        index: int,
        question: Question,
        retry: bool,
    ) -> None:
        link = self._links.get(question.endpoint)
        try:
            if link is None:
                link = self._connect(question.endpoint)
            link.begin(question.commands)
            if link.connected and not link.handshaking:
                link.flush()  # a kept connection: write now instead of waiting to hear it is writable
            self._register(link, link.events)
        except OSError as exc:
            if link is not None:
                self._drop(link)
            if retry:
                self._start(active, answers, index, question, retry=False)
            else:
                answers[index] = Answer(error=_describe(exc))
            return
        active[link.sock.fileno()] = (index, link, retry)

    def _advance(
        self,
        active: dict[int, tuple[int, _Link, bool]],
        answers: list[Answer | None],
        questions: Sequence[Question],
        fd: int,
        entry: tuple[int, _Link, bool],
        mask: int,
    ) -> None:
        index, link, retry = entry
        try:
            done = link.step(mask)
            if done:
                answers[index] = Answer(replies=link.finish())
            else:
                self._register(link, link.events)
        except (OSError, ConnectionError, PermissionError, hiredis.ProtocolError) as exc:
            del active[fd]
            stale = retry and not link.received_any
            self._drop(link)
            if stale:  # a kept connection the server had closed: once more on a new one
                self._start(active, answers, index, questions[index], retry=False)
            else:
                answers[index] = Answer(error=_describe(exc))
            return
        if done:
            del active[fd]

    def _between_rounds(self, fd: int) -> None:
        """A kept connection not asked this round has something to read (late replies, or
        its server closed it): read it now, so that epoll stops reporting it."""
        link = self._by_fd.get(fd)
        if link is None:
            with contextlib.suppress(OSError):
                self._poll.unregister(fd)
        elif not link.discard():
            self._drop(link)

    def _register(self, link: _Link, events: int) -> None:
        """Have epoll watch ``link`` for ``events`` (a system call only when they change)."""
        if link.registered == events:
            return
        fd = link.sock.fileno()
        if link.registered:
            self._poll.modify(fd, events)
        else:
            self._poll.register(fd, events)
            self._by_fd[fd] = link
        link.registered = events

    def _connect(self, endpoint: Endpoint) -> _Link:
        link = _Link(endpoint, self._contexts)
        self._links[endpoint] = link
        return link

    def _drop(self, link: _Link) -> None:
        if self._links.get(link.endpoint) is link:
            del self._links[link.endpoint]
        if link.registered:
            fd = link.sock.fileno()
            if self._by_fd.get(fd) is link:
                del self._by_fd[fd]
            with contextlib.suppress(OSError, ValueError):
                self._poll.unregister(fd)
            link.registered = 0
        link.close()

    def forget(self, address: str) -> None:
        """Close kept connections to ``address`` (its process was restarted or removed)."""
        for endpoint in [e for e in self._links if e.address == address]:
            self._drop(self._links[endpoint])

    def close(self) -> None:
        """Close every kept connection and the poller. Never raises for a connection already gone."""
        for link in list(self._links.values()):
            self._drop(link)
        self._by_fd.clear()
        self._poll.close()


def _pack(command: Command) -> bytes:
    # hiredis's stub types the argument as a one-element tuple; any tuple of strings packs.
    packed: bytes = hiredis.pack_command(cast(Any, command))
    return packed


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused"
    return str(exc) or type(exc).__name__
