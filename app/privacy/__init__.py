"""Supporters' privacy: retention, erasure on request, the public privacy notice."""
