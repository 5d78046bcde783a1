"""esimhub's Python client for the partner API of esimhub and of Airalo itself.

```python
from esimhub.client import Client

with Client(base_url="http://127.0.0.1:8000", client_id="...", client_secret="...") as client:
    order = client.orders.create(package_id="esimhub-jp-7days-1gb", quantity=1)
    print(order.sims[0].qrcode)
    print(client.sims.usage(order.sims[0].iccid).remaining)
```

``AsyncClient`` is the same for asyncio. Needs only ``httpx`` and ``pydantic``
(``pip install 'esimhub[client]'``); it never imports the server.
"""

from esimhub.client import webhooks
from esimhub.client._clients import AsyncClient, Client, Options
from esimhub.client._core import Page
from esimhub.client._resources import AsyncCatalogue, AsyncPages, Catalogue, Pages
from esimhub.client.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BusinessError,
    ConflictError,
    EsimhubClientError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from esimhub.client.stores import FileStore, MemoryStore, RedisStore, Store

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncCatalogue",
    "AsyncClient",
    "AsyncPages",
    "AuthenticationError",
    "BusinessError",
    "Catalogue",
    "Client",
    "ConflictError",
    "EsimhubClientError",
    "FileStore",
    "MemoryStore",
    "NotFoundError",
    "Options",
    "Page",
    "Pages",
    "PermissionDeniedError",
    "RateLimitError",
    "RedisStore",
    "ServerError",
    "Store",
    "ValidationError",
    "webhooks",
]
