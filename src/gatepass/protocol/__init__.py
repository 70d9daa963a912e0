"""The OAuth 2 / OpenID Connect protocol core: pure, synchronous, free of I/O, one module per RFC."""
