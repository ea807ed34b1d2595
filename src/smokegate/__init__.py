"""smokegate: production smoke, synthetic and security checks that gate deployments."""

__version__ = "0.1.0"
