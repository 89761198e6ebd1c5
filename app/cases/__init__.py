"""The public campaign site: home page, case list, case pages, success stories."""

from app.cases.routes import bp, root_bp

__all__ = ["bp", "root_bp"]
