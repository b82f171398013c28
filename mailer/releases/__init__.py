"""Press releases: drafts, their translations with history and approvals, attachments,
language resolution, the preview that equals the send, and the hosted web version."""
