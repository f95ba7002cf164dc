"""A synthetic property company whose owners pay, late or not at all, in response to what propfee sends."""
