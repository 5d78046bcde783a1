"""Order an eSIM and show its QR code.

    export ESIMHUB_BASE_URL=http://127.0.0.1:8000 ESIMHUB_CLIENT_ID=... ESIMHUB_CLIENT_SECRET=...
    python examples/order_esim.py            # the cheapest 1 GB+ package for Japan
    python examples/order_esim.py FR         # ... for France
    python examples/order_esim.py --package kallur-digital-7days-1gb

The QR code is drawn in the terminal when ``segno`` is installed (it is with the server);
otherwise the link to the QR image is printed.
"""

from __future__ import annotations

import argparse

from esimhub.client import Client
from esimhub.client.models import FlatPackage


def cheapest(client: Client, country: str) -> FlatPackage:
    offers = [
        p
        for p in client.packages.list(country=country).flat()
        if p.price is not None and (p.amount or 0) >= 1024
    ]
    if not offers:
        raise SystemExit(f"no package of 1 GB or more for {country}")
    return min(offers, key=lambda p: p.price or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("country", nargs="?", default="JP")
    parser.add_argument("--package", help="a package id, instead of the cheapest")
    args = parser.parse_args()

    with Client() as client:
        package_id = args.package or cheapest(client, args.country).package_id
        order = client.orders.create(package_id=package_id, quantity=1, description="example")
        sim = order.sims[0]
        print(f"order {order.code}: {order.package} for {order.price} {order.currency}")
        print(f"ICCID      {sim.iccid}")
        print(f"LPA        {sim.qrcode}")
        if sim.sharing is not None:
            print(f"share page {sim.sharing.link} (access code {sim.sharing.access_code})")
        try:
            import segno  # noqa: PLC0415 - optional
        except ImportError:
            print(f"QR code    {sim.qrcode_url}")
        else:
            segno.make(sim.qrcode or "", error="m").terminal(compact=True)
        print(f"balance    {client.balance.get().amount} USD")


if __name__ == "__main__":
    main()
