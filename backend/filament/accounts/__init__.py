"""Accounts and how people join: registration under the server's mode, the instance admin,
invitations to projects and their mails. Rules only: the API's routers call these and answer
their `core.errors` (docs/security.md, Registration and Invitations)."""
