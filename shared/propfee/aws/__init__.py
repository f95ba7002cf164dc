"""The only code that talks to AWS (boto3). Each adapter implements a port from propfee.domain.ports."""
