"""Shared API plumbing: error envelope, pagination, request id, rate limits, base test cases."""
