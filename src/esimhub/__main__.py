from esimhub.cli.main import app

app()
