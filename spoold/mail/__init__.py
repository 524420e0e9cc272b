"""Email for spoold: the bridge that turns emails into requests, and the replies.

- :mod:`spoold.mail.bridge` (command ``spool-mail``): reads the bridge's IMAP
  mailbox (IDLE, with polling as fallback), writes each request email as one
  folder (``request.yaml`` and ``origin.json``) into ``mailin``, then moves the
  message away.
- :mod:`spoold.mail.notifier`: the daemon's hook; queues a reply for each event
  in the request's ``mail/outbox`` and sends the queue over SMTP submission.

See ``docs/mail.md``.
"""
