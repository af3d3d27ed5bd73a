"""Webhooks out (issue 19), the writing side: events recorded in the transaction of the
change they report (`events`), and their JSON (`payloads`). It sits just above the
models so that the ledger and every domain verb may write events; sending them, and
the endpoints, live in `prepbase.webhook_delivery`."""
