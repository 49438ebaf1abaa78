"""The only code that imports httpx / websockets; their exceptions become StreamchatErrors here."""
