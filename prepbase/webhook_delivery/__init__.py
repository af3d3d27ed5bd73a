"""Webhooks out, the sending side: the business's endpoints (`endpoints`), sending what
`prepbase.webhooks` wrote (`delivery`), and the address checks that keep deliveries out
of the operator's network (`ssrf`). Apart from `prepbase.webhooks` because the ledger
writes events (that package sits below it) while sending e-mails admins (this one sits
above mail)."""
