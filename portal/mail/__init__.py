"""Mail: everything about mail that is not a domain rule, and no web framework.

- `render`: the Jinja environment for mail bodies and `templated_mail`, which turns
  `templates/email/<name>.*` into an outbox `Mail`;
- `links`: the portal addresses mails point to;
- `compose/`: one builder per mail, from the notice the domain hands over inside its
  transaction (the domain decides who is told what; these decide how it reads);
- `smtp`: handing one message to an SMTP server or to the local mailbox;
- `send`: what a worker does with an outbox id (claim, send, record) and the sweep.

The rules of the outbox itself (dedupe keys, claims, the lease, backoff, holding late
mail) are in `portal.domain.outbox`.
"""
