"""The resource namespaces (``client.orders``, ``client.sims``, ...) of both clients.

Each method is an operation of ``_operations`` bound to a client: ``operation`` and ``listing``
turn a function that describes a call into a method that runs it, with the describing function's
own signature (``ParamSpec``), so the two clients expose identical, type-checked parameters and
the signatures are written once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from pydantic import BaseModel

from esimhub.client import _operations as ops
from esimhub.client._core import Call, Page
from esimhub.client.models import (
    CatalogueEntry,
    FlatPackage,
    FutureOrder,
    Order,
    PackageOverride,
    Sim,
)

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
L = TypeVar("L")


class SyncRunner(Protocol):
    def run(self, call: Call[T]) -> T: ...


class AsyncRunner(Protocol):
    async def run(self, call: Call[T]) -> T: ...


# -- lists ----------------------------------------------------------------------------------


class Pages(Generic[M]):
    """Every item of a list, fetched a page at a time as you iterate; ``pages()`` gives the
    pages themselves (with ``total`` and, for the catalogue, ``pricing``)."""

    def __init__(self, runner: SyncRunner, build: ops.Paged[M]) -> None:
        self._runner = runner
        self._build = build

    def pages(self) -> Iterator[Page[M]]:
        number = 1
        while True:
            page = self._runner.run(self._build(number))
            yield page
            if not page.items or page.current_page >= page.last_page:
                return
            number = page.current_page + 1

    def __iter__(self) -> Iterator[M]:
        for page in self.pages():
            yield from page.items


class AsyncPages(Generic[M]):
    """``Pages`` for ``async for``."""

    def __init__(self, runner: AsyncRunner, build: ops.Paged[M]) -> None:
        self._runner = runner
        self._build = build

    async def pages(self) -> AsyncIterator[Page[M]]:
        number = 1
        while True:
            page = await self._runner.run(self._build(number))
            yield page
            if not page.items or page.current_page >= page.last_page:
                return
            number = page.current_page + 1

    async def __aiter__(self) -> AsyncIterator[M]:
        async for page in self.pages():
            for item in page.items:
                yield item


class Catalogue(Pages[CatalogueEntry]):
    def flat(self) -> Iterator[FlatPackage]:
        """One row per package, with its operator and entry (the official SDK's ``flat``)."""
        for entry in self:
            yield from FlatPackage.of(entry)


class AsyncCatalogue(AsyncPages[CatalogueEntry]):
    async def flat(self) -> AsyncIterator[FlatPackage]:
        async for entry in self:
            for package in FlatPackage.of(entry):
                yield package


# -- binding operations to a client ---------------------------------------------------------


class Resource:
    def __init__(self, runner: SyncRunner) -> None:
        self._runner = runner


class AsyncResource:
    def __init__(self, runner: AsyncRunner) -> None:
        self._runner = runner


class operation(Generic[P, T]):  # noqa: N801 - used as a decorator-like descriptor
    """``name = operation(ops.describe)``: a method of a ``Resource`` that runs the call."""

    def __init__(self, describe: Callable[P, Call[T]]) -> None:
        self._describe = describe
        self.__doc__ = describe.__doc__

    def __get__(self, resource: Resource, owner: Any = None) -> Callable[P, T]:
        describe, runner = self._describe, resource._runner

        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return runner.run(describe(*args, **kwargs))

        method.__doc__ = describe.__doc__
        return method


class async_operation(Generic[P, T]):  # noqa: N801
    """``operation`` for an ``AsyncResource``: the method is awaited."""

    def __init__(self, describe: Callable[P, Call[T]]) -> None:
        self._describe = describe
        self.__doc__ = describe.__doc__

    def __get__(self, resource: AsyncResource, owner: Any = None) -> Callable[P, Awaitable[T]]:
        describe, runner = self._describe, resource._runner

        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await runner.run(describe(*args, **kwargs))

        method.__doc__ = describe.__doc__
        return method


class listing(Generic[P, L]):  # noqa: N801
    """A list method of a ``Resource``: ``listing(ops.order_list, Pages[Order])`` returns the
    ``Pages`` (or ``Catalogue``) over every page of the described list."""

    def __init__(
        self, describe: Callable[P, ops.Paged[Any]], pages: Callable[[SyncRunner, Any], L]
    ) -> None:
        self._describe = describe
        self._pages = pages
        self.__doc__ = describe.__doc__

    def __get__(self, resource: Resource, owner: Any = None) -> Callable[P, L]:
        describe, runner, pages = self._describe, resource._runner, self._pages

        def method(*args: P.args, **kwargs: P.kwargs) -> L:
            return pages(runner, describe(*args, **kwargs))

        method.__doc__ = describe.__doc__
        return method


class async_listing(Generic[P, L]):  # noqa: N801
    """``listing`` for an ``AsyncResource``: ``AsyncPages`` for ``async for``."""

    def __init__(
        self, describe: Callable[P, ops.Paged[Any]], pages: Callable[[AsyncRunner, Any], L]
    ) -> None:
        self._describe = describe
        self._pages = pages
        self.__doc__ = describe.__doc__

    def __get__(self, resource: AsyncResource, owner: Any = None) -> Callable[P, L]:
        describe, runner, pages = self._describe, resource._runner, self._pages

        def method(*args: P.args, **kwargs: P.kwargs) -> L:
            return pages(runner, describe(*args, **kwargs))

        method.__doc__ = describe.__doc__
        return method


# -- the namespaces, synchronous ------------------------------------------------------------


class Packages(Resource):
    list = listing(ops.packages_list, Catalogue)
    product_information = operation(ops.packages_product_information)
    overrides = listing(ops.packages_overrides, Pages[PackageOverride])


class Orders(Resource):
    create = operation(ops.order_create)
    create_async = operation(ops.order_create_async)
    list = listing(ops.order_list, Pages[Order])
    get = operation(ops.order_get)


class Topups(Resource):
    create = operation(ops.topup_create)


class Sims(Resource):
    list = listing(ops.sim_list, Pages[Sim])
    get = operation(ops.sim_get)
    usage = operation(ops.sim_usage)
    topups = operation(ops.sim_topups)
    packages = operation(ops.sim_packages)
    instructions = operation(ops.sim_instructions)
    set_brand = operation(ops.sim_set_brand)


class FutureOrders(Resource):
    create = operation(ops.future_order_create)
    list = listing(ops.future_order_list, Pages[FutureOrder])
    cancel = operation(ops.future_order_cancel)


class Vouchers(Resource):
    esim = operation(ops.voucher_esim)
    airmoney = operation(ops.voucher_airmoney)


class Refunds(Resource):
    create = operation(ops.refund_create)


class BalanceResource(Resource):
    get = operation(ops.balance_get)


class Notifications(Resource):
    opt_in = operation(ops.notification_opt_in)
    opt_out = operation(ops.notification_opt_out)
    get = operation(ops.notification_get)


class Devices(Resource):
    list = operation(ops.devices_list)


class ExchangeRatesResource(Resource):
    get = operation(ops.exchange_rates_get)


class Simulator(Resource):
    send = operation(ops.simulator_send)


# -- the namespaces, asynchronous -----------------------------------------------------------


class AsyncPackages(AsyncResource):
    list = async_listing(ops.packages_list, AsyncCatalogue)
    product_information = async_operation(ops.packages_product_information)
    overrides = async_listing(ops.packages_overrides, AsyncPages[PackageOverride])


class AsyncOrders(AsyncResource):
    create = async_operation(ops.order_create)
    create_async = async_operation(ops.order_create_async)
    list = async_listing(ops.order_list, AsyncPages[Order])
    get = async_operation(ops.order_get)


class AsyncTopups(AsyncResource):
    create = async_operation(ops.topup_create)


class AsyncSims(AsyncResource):
    list = async_listing(ops.sim_list, AsyncPages[Sim])
    get = async_operation(ops.sim_get)
    usage = async_operation(ops.sim_usage)
    topups = async_operation(ops.sim_topups)
    packages = async_operation(ops.sim_packages)
    instructions = async_operation(ops.sim_instructions)
    set_brand = async_operation(ops.sim_set_brand)


class AsyncFutureOrders(AsyncResource):
    create = async_operation(ops.future_order_create)
    list = async_listing(ops.future_order_list, AsyncPages[FutureOrder])
    cancel = async_operation(ops.future_order_cancel)


class AsyncVouchers(AsyncResource):
    esim = async_operation(ops.voucher_esim)
    airmoney = async_operation(ops.voucher_airmoney)


class AsyncRefunds(AsyncResource):
    create = async_operation(ops.refund_create)


class AsyncBalance(AsyncResource):
    get = async_operation(ops.balance_get)


class AsyncNotifications(AsyncResource):
    opt_in = async_operation(ops.notification_opt_in)
    opt_out = async_operation(ops.notification_opt_out)
    get = async_operation(ops.notification_get)


class AsyncDevices(AsyncResource):
    list = async_operation(ops.devices_list)


class AsyncExchangeRates(AsyncResource):
    get = async_operation(ops.exchange_rates_get)


class AsyncSimulator(AsyncResource):
    send = async_operation(ops.simulator_send)
