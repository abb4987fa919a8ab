"""Sync engine: SendGrid client -> domain model -> storage."""
