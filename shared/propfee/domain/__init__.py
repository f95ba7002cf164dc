"""The shared vocabulary: records, money, the clock, settings and the ports every capability uses."""
