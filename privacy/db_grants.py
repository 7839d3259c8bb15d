"""Database rules of the privacy app's own table (its grants are in clinic/roles.py with the
privacy officer's others): disclosures are usable only by a request whose verified role is the
privacy officer's (clinic/role_gate.py)."""

from clinic.role_gate import gate

gate("disclosures")
