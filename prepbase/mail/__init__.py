"""E-mail, in one package.

- `outbox`: messages are written in the transaction of the change they report, sent
  after the commit, tried again with backoff, and listed for admins once they have
  finally failed.
- `render`: the bodies, from `templates/email/` (a plain-text and an HTML template each).
- `smtp`: the wire: one verified TLS connection per batch, the headers of each message.
- `links`: absolute links to the app (PUBLIC_BASE_URL, else the request's host).
- One module per subject: `hours` (running low, out of hours), `sessions` (proposed,
  cancelled, declined bookings, reminders), `series` (a weekly series proposed or
  cancelled together, sessions waiting for hours booked), `accounts` (invitations,
  password resets);
  `recipients` says who in a family is written to.
"""
