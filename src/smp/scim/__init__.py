"""SCIM 2.0 (/scim/v2): identity providers push the company's directory here."""
