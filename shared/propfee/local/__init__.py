"""What runs only on a workstation: the embedded AWS (sandbox) and the simulated company."""
