"""The metadata store: SQLAlchemy tables and queries, SQLite by default, PostgreSQL by URL.

What its functions raise: every one lets SQLAlchemy's errors of a failing database through
(``OperationalError`` when it cannot be reached or stays locked), and a caller handles none
of those. Besides, an insert raises ``IntegrityError`` when a key it writes is taken (its
docstring names which), a row looked up and not there is None (never an error), and a
compare-and-set (a lease, a lock, a finish) answers False when it loses.
"""
