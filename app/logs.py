"""Logging that never records a supporter's email address."""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    return EMAIL.sub("[email]", text)


def _redacting(factory):
    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        record.msg, record.args = redact(message), None
        return record

    make_record.inkwell_redacts = True
    return make_record


def init_app(app) -> None:
    """Every log record in this process, whoever logs it and wherever it goes, has addresses replaced."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "inkwell_redacts", False):
        logging.setLogRecordFactory(_redacting(factory))
