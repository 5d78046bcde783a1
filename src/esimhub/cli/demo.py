"""``esimhub serve --demo``: a catalogue and a partner to try the API with, on first start."""

from __future__ import annotations

from esimhub.auth import service as auth
from esimhub.auth import tokens
from esimhub.catalogue import service as catalogue
from esimhub.cli.common import clock, console, transaction
from esimhub.config import Settings
from esimhub.kit.money import wire_string
from esimhub.ledger import service as ledger

DEMO_PARTNER = "Demo Partner"
DEMO_BALANCE_CENTS = 1_000_00


async def prepare(settings: Settings, *, base_url: str) -> None:
    async with transaction(settings) as session:
        if await catalogue.package_count(session) == 0:
            summary = await catalogue.generate_demo(session, clock=clock())
            console.print(f"Loaded the demo catalogue: {summary.packages} packages.")
        partner = await auth.partner_named(session, DEMO_PARTNER)
        if partner is None:
            created = await ledger.open_account(
                session,
                settings=settings,
                clock=clock(),
                name=DEMO_PARTNER,
                balance_cents=DEMO_BALANCE_CENTS,
            )
            client_id, secret = created.client_id, created.client_secret
            partner_id = created.partner.id
        else:
            # Only the hash is stored; the secret is derived again from the server key.
            client_id, partner_id = partner.client_id, partner.id
            secret = tokens.client_secret(
                settings.secret_key.get_secret_value(), partner.secret_salt
            )
        balance = await ledger.balance_cents(session, partner_id)
    console.print(f"\n[bold]Demo partner[/] ({DEMO_PARTNER}, balance {wire_string(balance)} USD)")
    console.print(f"  client_id:     {client_id}")
    console.print(f"  client_secret: {secret}\n")
    console.print("Try it:")
    console.print(
        f"  TOKEN=$(curl -s {base_url}/v2/token -d client_id={client_id} "
        f"-d client_secret={secret} -d grant_type=client_credentials "
        "| python3 -c 'import json,sys; b=json.load(sys.stdin); "
        't=(b.get("data") or {}).get("access_token"); '
        'print(t) if t else sys.exit("no token: "+json.dumps(b))\')',
        soft_wrap=True,
        markup=False,
    )
    console.print(
        f"  curl -sg '{base_url}/v2/packages?filter[country]=JP' -H \"Authorization: Bearer $TOKEN\"\n",
        soft_wrap=True,
        markup=False,
    )
