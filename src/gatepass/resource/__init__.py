"""The resource server: the protected document API, separate from the authorization server."""
