"""One builder per mail, from the notice the domain hands over inside its transaction.

Each `compose_*` returns the callback a domain function takes (`compose(notice) ->
Mail`): the domain decides who is told what and writes the outbox row; the builder
decides how it reads. The same builder renders an admin's preview and the mail sent.
"""
