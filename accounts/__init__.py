"""Staff accounts: sign-in, MFA, re-authentication, password change, idle and absolute session
limits, "My sessions", lockout bookkeeping, and the sign-in tables' grants and policies."""
