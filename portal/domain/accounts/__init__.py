"""Accounts: admin and applicant sign-in, email links, invitations to admin, API tokens."""
