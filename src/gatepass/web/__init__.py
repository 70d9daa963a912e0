"""HTTP in, HTTP out: Starlette endpoints that translate requests to service calls."""
