"""The admin console at /admin: server-rendered pages over the services, for System Managers only."""
