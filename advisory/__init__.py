"""The customer advisory committee: charter, invitations, meetings, action log, cohorts."""
