"""The security suite's own pieces: its config model, the TLS scan, the rate-limit burst, OSV's client
(its fixtures are in :mod:`smokegate.plugin.security_fixtures`)."""
