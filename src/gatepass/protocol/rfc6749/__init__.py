"""OAuth 2.0 core (RFC 6749), one module per section or grant."""
