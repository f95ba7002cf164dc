"""The daily report: its figures, history, formats, delivery and access; the notice board."""
