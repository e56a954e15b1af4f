"""Messages that really go out: e-mail and SMS to citizens, signed webhooks
to the office's software, alarms to staff on call.

Data flow, one way::

    registry hook (order ready / changed)
        -> MessagesNotifier.order_ready / order_changed     (notifier.py)
        -> one row per message in the registry database     (queue.py)
        -> DeliveryWorker thread sends due rows             (worker.py)
        -> a channel: SMTP, HTTP SMS gateway, webhook       (email.py, sms.py, webhooks.py)

Texts come from gettext catalogs under ``locale/`` (templates.py); contact
addresses are checked by pure functions (contacts.py); SMS length by
segments.py. Configuration is one TOML file (config.py).
"""
