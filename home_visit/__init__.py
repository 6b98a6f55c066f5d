"""home_visit package."""
