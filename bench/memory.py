"""Memory: the mail worker's resident memory while draining 100,000 queued messages, beside 10,000 in the same run.

The worker runs as its own process (`flask mail work --drain`, the production command) against a throw-away
PostgreSQL database and a fast local SMTP sink, so that what is measured is its memory alone: its peak RSS (VmHWM
of its own address space, read from /proc while it works; wait4's ru_maxrss would also count the benchmark's own
memory, which the child holds for an instant before exec) and its RSS sampled from /proc. The queue is filled with
bulk SQL (emails to an authority's four addresses, ~1 KB each, as confirmed appeals leave them), not through the
ORM. The footprint must not grow with the queue: the 100,000-message peak within 20% of the 10,000-message one.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from bench.common import ROOT, Row, Table, smtp_sink, temp_database, vacuum

ADDRESSES = [f"office{n}@justice.example.org" for n in range(1, 5)]
SAMPLE_SECONDS = 0.1


def log(message: str) -> None:
    print(f"[memory] {message}", file=sys.stderr, flush=True)


def _app(url: str):
    from app import create_app
    from config import TestConfig

    return create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})


def seed(url: str) -> tuple[list[int], bytes]:
    """A case whose authority has four addresses; the ids, and a composed letter (~1 KB) without its Message-ID."""
    from app.cases.models import Case, CaseTranslation, Target, TargetAddress
    from app.extensions import db
    from app.mail.compose import Email, build_message, message_bytes

    app = _app(url)
    with app.app_context():
        case = Case(slug="memory", person_name="Memory Case", country="PT", published=True)
        case.translations.append(CaseTranslation(locale="en", headline="x"))
        target = Target(name="Ministry", country="PT", max_per_hour=10_000_000)
        target.addresses.extend(TargetAddress(email=email) for email in ADDRESSES)
        case.targets.append(target)
        db.session.add(case)
        db.session.commit()
        ids = [a.id for a in target.addresses]
        letter = (
            "Dear Minister,\n\nI am writing to ask you to release Memory Case, held since last year for peaceful "
            "work as a human-rights defender. Detaining people for speaking out violates the rights your government "
            "has pledged to respect, including freedom of expression and association. Pending release, please "
            "ensure regular access to family, to lawyers of their choosing and to medical care, and protection from "
            "torture and other ill-treatment.\n\nI will follow this case closely, and tell my friends and family about "
            "it until Memory Case is free.\n\nYours sincerely,\n\nA Supporter\nFrance\n"
        )
        msg = build_message(
            Email(subject="Release Memory Case now", text=letter, sender_name="A Supporter via Inkwell"),
            "<sample@inkwell.example.org>",
        )
        del msg["Message-ID"]
        raw = message_bytes(msg)
        db.engine.dispose()
    return ids, raw


def queue(url: str, addresses: list[int], raw: bytes, batch: str, count: int) -> None:
    """`count` due emails, round-robin over the addresses, each with its own Message-ID; one INSERT ... SELECT."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO outbound_messages (kind, state, message_id, sender, recipient, subject, raw,"
                " target_address_id, attempts, next_attempt_at, created_at)"
                " SELECT 'appeal', 'pending', '<' || :batch || '.' || g || '@inkwell.example.org>',"
                " 'appeals@inkwell.example.org', (CAST(:emails AS text[]))[1 + g % 4], 'Release Memory Case now',"
                " convert_to('Message-ID: <' || :batch || '.' || g || '@inkwell.example.org>' || chr(13) || chr(10),"
                " 'UTF8') || :raw, (CAST(:ids AS int[]))[1 + g % 4], 0, now() - interval '1 minute', now()"
                " FROM generate_series(1, :count) AS g"
            ),
            {"batch": batch, "emails": ADDRESSES, "ids": addresses, "raw": raw, "count": count},
        )
    vacuum(engine, "outbound_messages")
    engine.dispose()


@dataclass
class Drain:
    messages: int
    seconds: float
    peak_kb: int
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, VmRSS in kB)

    def rss_at(self, fraction: float) -> int:
        """The RSS sampled at `fraction` of the run (the nearest sample before it)."""
        moment = self.seconds * fraction
        before = [kb for t, kb in self.samples if t <= moment]
        return before[-1] if before else self.samples[0][1]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def net_rate(self, idle: Drain) -> float:
        return self.messages / max(self.seconds - idle.seconds, 1e-3)


def _vm_kb(pid: int, field: str) -> int | None:
    """A `Vm...` line of /proc/<pid>/status in kB (VmRSS: resident now; VmHWM: the peak of this address space)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def drain(url: str, port: int, instance: str, expected: int) -> Drain:
    """Run `flask mail work --drain` until the queue is empty; its peak RSS (VmHWM) and sampled VmRSS."""
    import subprocess

    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "INKWELL_CONFIG": "development",
        "INKWELL_INSTANCE_DIR": instance,
        "DATABASE_URL": url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "HOUSEKEEPING_SECONDS": "3600",
    }
    samples: list[tuple[float, int]] = []
    start = time.perf_counter()
    log_file = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "mail", "work", "--drain"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    peak = 0
    while True:
        pid, status, _usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        rss, hwm = _vm_kb(process.pid, "VmRSS"), _vm_kb(process.pid, "VmHWM")
        if rss is not None:
            samples.append((time.perf_counter() - start, rss))
            peak = max(peak, rss, hwm or 0)
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    log_file.seek(0)
    errors = log_file.read()[-5000:].decode(errors="replace")
    log_file.close()
    if process.returncode != 0:
        raise SystemExit(f"the worker failed ({process.returncode}):\n{errors}")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        waiting = conn.execute(sa.text("SELECT count(*) FROM outbound_messages WHERE state <> 'sent'")).scalar_one()
    engine.dispose()
    if waiting:
        raise SystemExit(f"{waiting} messages were not recorded as sent:\n{errors}")
    return Drain(expected, seconds, peak, samples)


def measure(small: int = 10_000, large: int = 100_000) -> tuple[Drain, Drain, Drain]:
    with smtp_sink(0.0) as port, temp_database() as url, tempfile.TemporaryDirectory(prefix="inkwell-bench-") as tmp:
        addresses, raw = seed(url)
        log(f"raw message: {len(raw) + 50} bytes")
        idle = drain(url, port, tmp, 0)
        queue(url, addresses, raw, "small", small)
        first = drain(url, port, tmp, small)
        log(f"{small:,} drained at {first.rate:,.0f} msg/s, peak {first.peak_kb / 1024:.1f} MiB")
        queue(url, addresses, raw, "large", large)
        second = drain(url, port, tmp, large)
        log(f"{large:,} drained at {second.rate:,.0f} msg/s, peak {second.peak_kb / 1024:.1f} MiB")
    return idle, first, second


def run(small: int = 10_000, large: int = 100_000) -> Table:
    idle, first, second = measure(small, large)
    mib = 1024
    table = Table("Mail worker memory (`flask mail work --drain`, own process, PostgreSQL, fast SMTP sink)")
    table.add(Row("worker peak RSS, empty queue", idle.peak_kb / mib, "MiB"))
    table.add(
        Row(
            f"worker peak RSS, draining {small:,}",
            first.peak_kb / mib,
            "MiB",
            "empty queue",
            first.peak_kb / idle.peak_kb,
        )
    )
    ratio = second.peak_kb / first.peak_kb
    table.add(
        Row(
            f"worker peak RSS, draining {large:,}",
            second.peak_kb / mib,
            "MiB",
            f"draining {small:,}",
            ratio,
            "<= 1.2x",
            ratio <= 1.2,
        )
    )
    early, late = second.rss_at(0.25), second.rss_at(1.0)
    table.add(Row(f"worker RSS at 25% of the {large:,} drain", early / mib, "MiB"))
    table.add(
        Row(
            f"worker RSS at the end of the {large:,} drain",
            late / mib,
            "MiB",
            "at 25% of the drain",
            late / early,
            "<= 1.2x",
            late / early <= 1.2,
        )
    )
    # Rates net of start-up: the empty-queue run's duration is subtracted.
    small_rate, large_rate = first.net_rate(idle), second.net_rate(idle)
    table.add(Row(f"worker rate, {small:,} messages (net of start-up)", small_rate, "msg/s"))
    table.add(
        Row(
            f"worker rate, {large:,} messages (net of start-up)",
            large_rate,
            "msg/s",
            f"{small:,} messages",
            large_rate / small_rate,
        )
    )
    return table


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    args = parser.parse_args()
    print(run(args.small, args.large).render())
