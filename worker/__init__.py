"""The Celery side of the mailer: ``celery -A worker worker`` and ``celery -A worker beat``.

Celery's ``-A worker`` finds the app in :mod:`worker.celery`, which builds the Flask app from
the environment so tasks run with the web app's configuration. Importing this package alone
builds nothing.
"""
