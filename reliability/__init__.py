"""Reliability checks against gunicorn and a throwaway PostgreSQL (see docs/reliability.md)."""
