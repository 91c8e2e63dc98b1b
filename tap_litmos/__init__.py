"""tap-litmos: a Singer tap for SAP Litmos LMS."""
