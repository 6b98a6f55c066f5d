"""Fixtures of the staff-app tests: the small risk city of the supervisor tests."""

from tests.supervisor.conftest import City, city

__all__ = ["City", "city"]
