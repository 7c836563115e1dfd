"""Panels: membership, invitations, declarations, conflicts, and who on a panel may see what."""
