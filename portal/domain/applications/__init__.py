"""Applications: drafts, uploads, submission under the deadline rule, receipts, and what admins read of them."""
