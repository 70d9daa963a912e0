"""The authorization server's token machinery: the token endpoint and its grants, the shared issuer,
implicit responses, and the access-token verifier the resource side uses.

- ``client_auth``: which client calls the back channel (RFC 6749 §2.3);
- ``token_endpoint``: dispatch on grant_type to a registered grant (RFC 6749 §3.2);
- ``grants/``: one module per grant;
- ``issuance``: lifetimes, the grant and its tokens in one transaction, the id_token;
- ``implicit``: tokens in the authorization redirect;
- ``access_tokens``: checking a presented access token, and noting its grant's last use;
- ``stores``: what these need from storage.
"""
