"""A catch-all SMTP server for trying Inkwell without a mail account: every message becomes a file.

`make run` starts it unless MAIL_SERVER is set. Files are named `<time>-<n>.eml` under DEV_MAILBOX_DIR and open in
any mail program (or a text editor).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class MailboxHandler:
    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.directory / f"{stamp}-{next(self._counter):05d}.eml"
        header = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        path.write_bytes(header.encode() + envelope.original_content)
        return "250 Message accepted for delivery"


def serve(directory: str, host: str, port: int) -> Controller:
    controller = Controller(MailboxHandler(Path(directory)), hostname=host, port=port, decode_data=False)
    controller.start()
    return controller
