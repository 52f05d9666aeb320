"""hooklake: local-first traceability and pattern learning for AI coding agents."""

__version__ = "0.1.0"
