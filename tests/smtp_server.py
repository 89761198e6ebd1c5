"""A real SMTP server for tests (aiosmtpd), which can be told to misbehave.

`server.behaviour` decides each reply: per recipient (`rcpt`), at end of data (`data`), with a delay, or by dropping
the connection in the middle of the message. Every accepted message is kept in `server.messages`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Behaviour:
    # recipient address -> reply to RCPT, e.g. "550 5.1.1 No such user"
    rcpt: dict[str, str] = field(default_factory=dict)
    # reply to the end of DATA for every message, e.g. "451 4.3.0 Try again later"; None: accept
    data: str | None = None
    # only the first N messages get the `data` reply, then accept (None: all of them)
    data_times: int | None = None
    # close the connection instead of answering the end of DATA (the message was transmitted)
    drop_after_data: int = 0
    # seconds to wait after accepting a message, before answering the end of DATA
    delay: float = 0.0
    # seconds to wait before deciding (a message whose client vanishes meanwhile is not accepted)
    hold: float = 0.0


class FaultySMTPHandler:
    def __init__(self, server: FaultySMTPServer):
        self.server = server

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        with self.server.lock:
            self.server.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        reply = self.server.behaviour.rcpt.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        behaviour = self.server.behaviour
        with self.server.lock:
            self.server.data_count += 1
            count = self.server.data_count
        if behaviour.hold:
            await asyncio.sleep(behaviour.hold)
            if server.transport is None or server.transport.is_closing():
                return "421 client gone"
        if behaviour.drop_after_data and count <= behaviour.drop_after_data:
            server.transport.close()
            return "421 closing"
        if behaviour.data and (behaviour.data_times is None or count <= behaviour.data_times):
            return behaviour.data
        # Accept the message, then (like a slow remote server) take a while to say so.
        with self.server.lock:
            self.server.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        return "250 2.0.0 Queued as test"


class FaultySMTPServer:
    def __init__(self, host: str = "127.0.0.1", smtputf8: bool = False, data_size_limit: int = 40 * 1024 * 1024):
        self.host = host
        self.port = _free_port()
        self.behaviour = Behaviour()
        self.messages: list[Received] = []
        self.data_count = 0
        self.sessions = 0
        self.running = False
        self.lock = threading.Lock()
        self.controller = Controller(
            FaultySMTPHandler(self),
            hostname=host,
            port=self.port,
            decode_data=False,
            data_size_limit=data_size_limit,  # larger messages get aiosmtpd's "552 Error: Too much mail data"
            enable_SMTPUTF8=smtputf8,  # offered in EHLO only when asked: most tests speak to a plain server
        )

    def start(self) -> FaultySMTPServer:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    def by_recipient(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
