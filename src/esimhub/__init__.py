"""esimhub: a self-hostable eSIM distribution platform with an Airalo-compatible partner API."""

__version__ = "0.1.0"
