"""The outbox and the mail worker."""
