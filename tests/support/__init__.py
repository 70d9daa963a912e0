"""Helpers the tests share, one concept per module; import each from the module that holds it.

backends   the database backends, a fresh database on each, require() for a missing service
server     `gatepass serve` in a process of its own (LiveServer), its accounts and defaults
cli        `gatepass` commands, forked from a warm interpreter (programs/cli_zygote.py)
provision  users, clients and API tokens made through the CLI; World names them
pkce       PKCE verifier and S256 challenge
html       forms, field values and visible text of a page
browser    a browser without JavaScript that logs in and answers consent; authorization requests
backchannel  token, revocation and introspection calls as a client makes them
console    a logged-in admin console session and its client form
logs       what a server logged during a test
"""
