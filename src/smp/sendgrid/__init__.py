"""SendGrid client: the only code that speaks HTTP to SendGrid, and only GET."""
