"""OpenID Connect: id_token, userinfo claims and discovery."""
