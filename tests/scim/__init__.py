"""SCIM 2.0 (/scim/v2) against a real `smp serve`."""
