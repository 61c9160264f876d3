"""Glue every entry point shares: settings, database, Redis and queues, mail, files, i18n."""
