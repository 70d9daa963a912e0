"""Pure tests of gatepass.protocol, one module per protocol module."""
