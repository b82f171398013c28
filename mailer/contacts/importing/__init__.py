"""CSV import of journalists: one streaming engine behind the API, the CLI and the web wizard.

``reader`` decodes and sniffs the file, ``columns`` maps its header to contact fields, ``rows``
validates each row with :mod:`mailer.contacts.validation`, ``store`` (and ``pgcopy`` on
PostgreSQL) writes chunks in bulk, and ``service`` runs the whole import and builds the report.
"""
