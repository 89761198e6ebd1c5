"""An SMTP sink for benchmarks, run in its own process: accepts everything, optionally `--delay` before each reply.

The delay imitates a remote government server that takes its time (applied to EHLO, MAIL, RCPT and end of DATA).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading

from aiosmtpd.controller import Controller


class SinkHandler:
    def __init__(self, delay: float):
        self.delay = delay
        self.count = 0

    async def _wait(self):
        if self.delay:
            await asyncio.sleep(self.delay)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        await self._wait()
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        await self._wait()
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        await self._wait()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await self._wait()
        self.count += 1
        return "250 2.0.0 Accepted"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    controller = Controller(SinkHandler(args.delay), hostname="127.0.0.1", port=args.port, decode_data=False)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
