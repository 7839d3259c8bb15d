"""Database objects and rights for analytics (views for the analyst role)."""
