"""The project's own PostgreSQL for development and tests: the cluster under the checkout (TLS,
pgaudit, scram), PgBouncer in front of it, a streaming standby, backup and restore.

Production never imports this package: there DATABASE_URL names a managed server.
"""
