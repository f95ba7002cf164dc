"""propfee: serverless property-fee collection (物业费催缴) on AWS Lambda."""

__version__ = "0.1.0"
