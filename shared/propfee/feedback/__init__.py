"""Owners' replies: understanding them, acting on them, and the departments' tickets."""
