"""The privacy officer's console: access-log search and reports, who viewed a patient's record,
disclosures and their accounting (45 CFR 164.528) with suspensions, break-the-glass reviews,
lockout unlocks and flags."""
