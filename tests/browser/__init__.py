"""Shared helpers for tests that drive a real headless Chromium."""
