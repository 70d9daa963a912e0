"""Optional Redis: shared rate limits; in-process fallbacks with the same interface."""
