"""The staff console's ground: who is signed in (auth), what each role may see and do (permissions), what staff did
(audit) and what a page may show of an owner (masking). Provider-neutral: the adapters live in aws/."""
