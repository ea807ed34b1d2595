"""Pure check logic, free of pytest: each module is unit-tested without a server."""
