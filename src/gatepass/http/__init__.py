"""HTTP concerns both servers share: the login session, CSRF and RFC 6750 error responses.

The authorization server's pages and endpoints (web/) and the resource server (resource/) both import
this package; it imports neither, so the two stay apart.
"""
