"""The auth service: registers users, checks passwords and issues the JWTs every service trusts."""
