"""The console's pages, one module per part: reports (access log, patient report, flags),
disclosures, break-the-glass reviews, lockouts."""
